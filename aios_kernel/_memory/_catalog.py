"""The retrieval catalog: an in-memory mirror of the active memories.

Retrieval needs, per memory, a few fields (tier, kind, times, episode,
meta, text) in arrays it can mask in microseconds; the catalog keeps them,
one *slot* per memory version. It follows the store, never the other way
round: ``sync`` reads the rows whose ``event_seq`` grew since the last sync
(a new, updated, moved, forgotten or expired memory all bump it), so writes
by another process show up at the next recall, and a forgotten memory drops
out the moment its event commits. An updated memory gets a new slot; the old
one is dead for good (keyword postings are append-only).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from typing import Any

from .._ids import epoch
from .._store import Store, _json
from ._bm25 import BM25, STOP_WORDS, tokenize
from ._schema import TIERS

_COLUMNS = ("id", "version", "vec_id", "tier", "kind", "content_hash", "meta", "client_id", "project_id", "episode",
            "event_time", "created_at", "created_seq", "status", "sensitive", "event_seq")


_WORDS = re.compile(r"[a-z0-9]+")



class Catalog:
    """Slots of active memories with their retrieval fields, and the keyword index over them."""

    def __init__(self) -> None:
        import numpy as np

        self.np = np
        cap = 1024
        self.active = np.zeros(cap, bool)
        self.tier = np.zeros(cap, np.int8)
        self.kind = np.zeros(cap, np.int16)
        self.ts = np.full(cap, np.nan)
        self.order = np.zeros(cap, np.int64)
        self.vec = np.zeros(cap, np.int64)
        self.in_index = np.zeros(cap, bool)
        self.episode = np.full(cap, -1, np.int32)
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.meta: list[dict[str, Any]] = []
        self.hashes: list[str] = []
        self.client: list[str | None] = []
        self.project: list[str | None] = []
        self.slot_of: dict[str, int] = {}
        self.slot_of_vec: dict[int, int] = {}
        self.slots_of_hash: dict[str, set[int]] = {}
        self.kind_codes: dict[str, int] = {}
        self.episode_codes: dict[str, int] = {}
        self.episode_slots: dict[int, list[int]] = {}
        self._episode_sorted: set[int] = set()
        self.meta_index: dict[str, dict[str, list[int]]] = {}
        self._name_masks: dict[tuple[Any, ...], Any] = {}
        self.bm25 = BM25()
        self.high_water = 0
        self.n_active = 0

    @property
    def size(self) -> int:
        return len(self.ids)

    def _grow(self) -> None:
        np = self.np
        n = len(self.ids)
        if n < len(self.active):
            return
        extra = len(self.active)
        for name, fill in (("active", False), ("tier", 0), ("kind", 0), ("ts", np.nan), ("order", 0), ("vec", 0),
                           ("in_index", False), ("episode", -1)):
            arr = getattr(self, name)
            setattr(self, name, np.concatenate([arr, np.full(extra, fill, arr.dtype)]))

    # -- following the store ---------------------------------------------------------

    def sync(self, store: Store) -> tuple[list[int], list[int]]:
        """Apply rows changed since the last sync; returns (slots added, slots removed)."""
        top = store.scalar("SELECT max(event_seq) FROM memories") or 0
        if top <= self.high_water:
            return [], []
        rows = store.query(
            f"SELECT {', '.join('m.' + c for c in _COLUMNS)}, c.text FROM memories m "
            "JOIN memory_content c ON c.hash = m.content_hash WHERE m.event_seq > ? ORDER BY m.event_seq", (self.high_water,))
        added, removed = [], []
        damaged: list[str] = []
        for row in rows:
            try:
                fields = _fields(row)
            except (*_json.DECODE_ERRORS, AttributeError, KeyError):
                fields = None
                damaged.append(row["id"])
            old = self.slot_of.get(row["id"])
            if old is not None and self.active[old]:
                if fields is not None and row["status"] == "active" and self.vec[old] == row["vec_id"]:
                    self._restamp(old, fields)  # moved, marked or re-described: same text, same slot
                    continue
                self._kill(old)
                removed.append(old)
            if fields is not None and row["status"] == "active" and row["text"] is not None:
                added.append(self._add(row, fields))
        self.high_water = max(self.high_water, top)
        if damaged:
            # One bad row must not stop the reads of the others: it is left out, and said so.
            message = (f"{len(damaged)} memories could not be read from the store and are left out of recall "
                       f"({', '.join(damaged[:3])}{' ...' if len(damaged) > 3 else ''}); `aios verify` names what is wrong")
            warnings.warn(message, _json.DamagedRowWarning, stacklevel=4)
        return added, removed

    def _restamp(self, slot: int, fields: tuple[dict[str, Any], int, float]) -> None:
        meta, tier, _ = fields
        self.tier[slot] = tier
        if meta != self.meta[slot]:
            self.meta[slot] = meta
            self.meta_index.clear()
            self._name_masks.clear()

    def _add(self, row: Any, fields: tuple[dict[str, Any], int, float]) -> int:
        self._grow()
        slot = len(self.ids)
        meta, tier, ts = fields
        self.ids.append(row["id"])
        self.texts.append(row["text"])
        self.meta.append(meta)
        self.hashes.append(row["content_hash"])
        self.client.append(row["client_id"])
        self.project.append(row["project_id"])
        self.active[slot] = True
        self.tier[slot] = tier
        self.kind[slot] = self.kind_codes.setdefault(row["kind"], len(self.kind_codes))
        self.ts[slot] = ts
        self.order[slot] = row["created_seq"]
        self.vec[slot] = row["vec_id"]
        if row["episode"]:
            code = self.episode_codes.setdefault(row["episode"], len(self.episode_codes))
            self.episode[slot] = code
            self.episode_slots.setdefault(code, []).append(slot)
            self._episode_sorted.discard(code)
        self.slot_of[row["id"]] = slot
        self.slot_of_vec[int(row["vec_id"])] = slot
        self.slots_of_hash.setdefault(row["content_hash"], set()).add(slot)
        for key, index in self.meta_index.items():
            if key in meta:
                index.setdefault(_json.dumps(meta[key]), []).append(slot)
        self.bm25.add(slot, tokenize(row["text"]))
        self.n_active += 1
        return slot

    def _kill(self, slot: int) -> None:
        self.active[slot] = False
        self.in_index[slot] = False
        self.bm25.remove(slot, tokenize(self.texts[slot]))
        self.slot_of_vec.pop(int(self.vec[slot]), None)
        self.slots_of_hash.get(self.hashes[slot], set()).discard(slot)
        self.n_active -= 1

    # -- lookups ---------------------------------------------------------------------

    def where_mask(self, key: str, values: Iterable[Any]) -> Any:
        """Slots whose ``meta[key]`` equals one of ``values`` (a per-key index, built on first use)."""
        index = self._meta_values(key)
        mask = self.np.zeros(self.size, bool)
        for v in values:
            slots = index.get(_json.dumps(v))
            if slots:
                mask[slots] = True
        return mask

    def named_in(self, query: str, keys: Iterable[str]) -> tuple[Any, list[str]]:
        """Memories by a speaker the query names, and the words that named them.

        Returns ``(mask or None, names)``. A speaker-like meta value (``keys``)
        is named when all its words appear in the query, or its first word does
        (people say "Caroline", not "Caroline Smith").
        """
        words = set(_WORDS.findall(query.lower()))
        matched, names = [], []
        for key in keys:
            for value in self._meta_values(key):
                name = _json.loads(value)
                if not isinstance(name, str):
                    continue
                parts = _WORDS.findall(name.lower())
                if parts and parts[0] not in STOP_WORDS and (parts[0] in words or set(parts) <= words):
                    matched.append((key, value))
                    names.extend(p for p in parts if p in words)
        if not matched:
            return None, []
        # The same speakers are asked about again and again; their mask changes only when memories arrive.
        cache_key = (tuple(matched), len(self.ids))
        mask = self._name_masks.get(cache_key)
        if mask is None:
            if len(self._name_masks) > 64:
                self._name_masks.clear()
            mask = self.np.zeros(self.size, bool)
            for key, value in matched:
                mask[self.meta_index[key][value]] = True
            self._name_masks[cache_key] = mask
        return mask, sorted(set(names))

    def _meta_values(self, key: str) -> dict[str, list[int]]:
        index = self.meta_index.get(key)
        if index is None:
            index = self.meta_index[key] = {}
            for slot, meta in enumerate(self.meta):
                if key in meta:
                    index.setdefault(_json.dumps(meta[key]), []).append(slot)
        return index

    def neighbours(self, slot: int, width: int) -> list[tuple[int, int]]:
        """``(slot, distance)`` of active slots in the same episode within ``width`` positions, nearest first."""
        code = int(self.episode[slot])
        if code < 0:
            return []
        members = self.episode_slots[code]
        if code not in self._episode_sorted:
            members.sort(key=lambda s: (self.ts[s] if not math.isnan(self.ts[s]) else 0.0, self.order[s]))
            self._episode_sorted.add(code)
        live = [s for s in members if self.active[s]]
        try:
            pos = live.index(slot)
        except ValueError:
            return []
        out = []
        for d in range(1, width + 1):
            for p in (pos - d, pos + d):
                if 0 <= p < len(live):
                    out.append((live[p], d))
        return out


def _fields(row: Any) -> tuple[dict[str, Any], int, float]:
    """The fields of a row that can be damaged in the store (meta, tier, time), decoded; raises when one cannot be."""
    meta = _json.loads(row["meta"]) or {}
    if not isinstance(meta, dict):
        raise ValueError("meta is not a dict")
    if row["tier"] not in TIERS:
        raise ValueError(f"unknown tier {row['tier']!r}")
    return meta, TIERS.index(row["tier"]), epoch(row["event_time"] or row["created_at"])
