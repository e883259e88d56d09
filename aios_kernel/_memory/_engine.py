"""Keeping the catalog and the vector index in step with the store.

The store is the truth. The catalog (fields and keyword index) and the faiss
index are caches of it, brought up to date by :meth:`Engine.sync`: cheap
when nothing changed (two indexed ``max()`` queries), and incremental
otherwise. On first use the saved index file is loaded and reconciled with
the store (vectors missing from it are added, stale ones removed); a file
that does not read back is rebuilt, with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._store import Store
from ._catalog import Catalog
from ._index import IndexFileError, VectorIndex


class MemoryWarning(UserWarning):
    """Something in memory was repaired or deferred (index rebuilt, embeddings pending)."""


CHUNK = 500


class Engine:
    """The catalog and vector index of one workspace, for one embedding model."""

    def __init__(self, store: Store, index_folder: Path, model_id: str, dim: int, *, exact_max: int, nprobe: int) -> None:
        self.store = store
        self.model_id = model_id
        self.cat = Catalog()
        self.index = VectorIndex(index_folder, model_id, dim, exact_max=exact_max, nprobe=nprobe)
        self.emb_high_water = 0
        self.ready = False

    # -- sync ------------------------------------------------------------------------

    def sync(self) -> None:
        if not self.ready:
            self._open()
            return
        added, removed = self.cat.sync(self.store)
        if removed:
            self.index.remove([int(self.cat.vec[s]) for s in removed])
        if added:
            self._attach(added)
        top = self.store.scalar("SELECT max(rowid) FROM memory_embeddings") or 0
        if top > self.emb_high_water:
            rows = self.store.query("SELECT content_hash FROM memory_embeddings WHERE model_id=? AND rowid>?",
                                    (self.model_id, self.emb_high_water))
            slots = [s for r in rows for s in self.cat.slots_of_hash.get(r[0], ()) if not self.cat.in_index[s]]
            self.emb_high_water = top
            if slots:
                self._attach(slots)

    def _open(self) -> None:
        np = __import__("numpy")
        self.emb_high_water = self.store.scalar("SELECT max(rowid) FROM memory_embeddings") or 0
        self.cat.sync(self.store)
        self.cat.bm25.prepare()
        try:
            loaded = self.index.load()
        except IndexFileError as exc:
            warnings.warn(f"the memory vector index was unusable ({exc}); rebuilding it from the store", MemoryWarning,
                          stacklevel=3)
            loaded = False
        cat = self.cat
        live = np.flatnonzero(cat.active[:cat.size])
        if not loaded:
            ids, vecs, slots = self._vectors(live)
            self.index.reset(ids, vecs)
            cat.in_index[slots] = True
            if len(ids):
                self.index.save()
        else:
            have = self.index.ids()
            want = cat.vec[live]
            extra = np.setdiff1d(have, want)
            if len(extra):
                self.index.remove(extra)
            present = np.isin(want, have)
            cat.in_index[live[present]] = True
            missing = live[~present]
            if len(missing):
                self._attach(missing.tolist())
        self.ready = True

    def _vectors(self, slots: Sequence[int]) -> tuple[Any, Any, list[int]]:
        """Stored vectors of ``slots`` that have one: (vec ids, vectors, slots)."""
        np = __import__("numpy")
        cat = self.cat
        by_hash: dict[str, list[int]] = {}
        for s in slots:
            by_hash.setdefault(cat.hashes[s], []).append(int(s))
        ids, vecs, found = [], [], []
        hashes = list(by_hash)
        for start in range(0, len(hashes), CHUNK):
            part = hashes[start:start + CHUNK]
            rows = self.store.query(
                f"SELECT content_hash, vector FROM memory_embeddings WHERE model_id=? AND content_hash IN ({','.join('?' * len(part))})",
                (self.model_id, *part))
            for h, blob in rows:
                v = np.frombuffer(blob, dtype=np.float32)
                for s in by_hash[h]:
                    ids.append(int(cat.vec[s]))
                    vecs.append(v)
                    found.append(s)
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, self.index.dim), np.float32), []
        return np.asarray(ids, np.int64), np.vstack(vecs), found

    def _attach(self, slots: Sequence[int]) -> None:
        ids, vecs, found = self._vectors(slots)
        if len(ids):
            self.index.add(ids, vecs)
            self.cat.in_index[found] = True

    # -- search ----------------------------------------------------------------------

    def dense(self, qvec: Any, n: int, mask: Any) -> tuple[Any, Any]:
        """Top ``n`` (slots, cosine) among ``mask`` for one query vector."""
        np = __import__("numpy")
        cat = self.cat
        allowed = None
        live = cat.active[:cat.size] & cat.in_index[:cat.size]
        if not bool((mask[:cat.size] | ~live).all()):
            allowed = cat.vec[np.flatnonzero(mask[:cat.size] & live)]
        scores, ids = self.index.search(qvec, n, allowed)
        slots, keep = [], []
        for i, vid in enumerate(ids):
            s = cat.slot_of_vec.get(int(vid))
            if s is not None and mask[s]:
                slots.append(s)
                keep.append(i)
        return np.asarray(slots, np.int64), scores[keep]

    def vector_of(self, slot: int) -> Any:
        np = __import__("numpy")
        row = self.store.one("SELECT vector FROM memory_embeddings WHERE content_hash=? AND model_id=?",
                             (self.cat.hashes[slot], self.model_id))
        return None if row is None else np.frombuffer(row[0], dtype=np.float32)

    def save(self) -> None:
        if self.ready and self.index.dirty:
            self.index.save()
