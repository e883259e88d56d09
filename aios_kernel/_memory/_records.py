"""Writing memory records as events, and reading them back.

Every change is an event (``memory.created``, ``.updated``, ``.moved``,
``.forgotten``, ``.expired``, ``.marked``, ``.purged``): nothing is
overwritten in place without one, and old versions stay in
``memory_versions``. Validation happens before anything is written, so a
bad item in a batch writes nothing at all.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .._errors import NotFoundError, ValidationError
from .._ids import iso, new_id, utcnow
from .._store import Store
from .._store import _json
from ._schema import KINDS, SOURCES, TIER_ALIASES, TIERS
from ._types import MemoryRef, Version, memory_id_of

DEFAULT_MAX_CHARS = 1_000_000
EPISODE_KEYS = ("episode", "session", "thread_id", "thread", "conversation")
"""Meta keys that group records into an episode (for episodic expansion), first found wins."""


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def vec_id(memory_id: str, chash: str) -> int:
    """The vector-index id of one version of a memory (63-bit, stable)."""
    return int(hashlib.sha256(f"{memory_id}\x1f{chash}".encode()).hexdigest()[:15], 16)


def check_text(text: Any, *, max_chars: int = DEFAULT_MAX_CHARS, field: str = "text") -> str:
    """The text as ``str``, or a ValidationError saying what is wrong with it."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"{field} is not valid UTF-8 (byte {bytes(text)[exc.start:exc.start + 1]!r} at position {exc.start}); "
                "decode it with the right encoding first, e.g. data.decode('latin-1')", field=field) from exc
    if not isinstance(text, str):
        raise ValidationError(f"{field} must be a str, got {type(text).__name__}", field=field)
    if not text.strip():
        raise ValidationError(f"{field} is empty or only whitespace; there is nothing to remember", field=field)
    if len(text) > max_chars:
        raise ValidationError(
            f"{field} has {len(text):,} characters, more than the limit of {max_chars:,}; split it into passages "
            "(remember_many) or raise [memory] max_chars in aios.toml", field=field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{field} holds characters that are not valid Unicode (lone surrogate at position {exc.start}); "
                              "decode the source bytes with errors='replace' or fix the encoding", field=field) from exc
    return text


def check_tier(tier: Any) -> str:
    t = TIER_ALIASES.get(str(tier).lower(), str(tier).lower()) if isinstance(tier, str) else tier
    if t not in TIERS:
        raise ValidationError(f"unknown memory tier {tier!r}; use one of {', '.join(TIERS)}", field="tier")
    return t


def check_kind(kind: Any, extra: Sequence[str] = ()) -> str:
    known = (*KINDS, *extra)
    if not isinstance(kind, str) or kind not in known:
        raise ValidationError(f"unknown memory kind {kind!r}; use one of {', '.join(known)} "
                              "(or add it to [memory] kinds in aios.toml)", field="kind")
    return kind


def check_meta(meta: Any) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise ValidationError(f"meta must be a dict, got {type(meta).__name__}", field="meta")
    meta = dict(meta)
    _json.dumps(meta, field="meta")  # NaN, sets, objects: a clear error now, not a broken event later
    return meta


def parse_source(source: Any, source_ref: str | None) -> tuple[str, str | None]:
    """``"email"`` or ``"email:<message id>"`` (kind and reference in one string)."""
    if source is None:
        return "operator", source_ref
    if not isinstance(source, str) or not source:
        raise ValidationError(f"source must be a string such as 'file:notes/a.md', got {source!r}", field="source")
    kind, _, ref = source.partition(":")
    if kind not in SOURCES:
        raise ValidationError(f"unknown source {kind!r}; use one of {', '.join(SOURCES)} (optionally 'kind:reference')", field="source")
    return kind, (source_ref or ref or None)


def to_time(value: Any, field: str = "event_time") -> str | None:
    """A datetime, date, epoch seconds or date string as the store's ISO form."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return iso(datetime(value.year, value.month, value.day))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        from datetime import UTC

        return iso(datetime.fromtimestamp(value, UTC))
    if isinstance(value, str):
        from ._timeparse import parse_datetime

        dt = parse_datetime(value)
        if dt is not None:
            return iso(dt)
    raise ValidationError(f"{field} {value!r} is not a time; pass a datetime, a date or an ISO string like '2023-05-08T13:56'",
                          field=field)


def ttl_expiry(ttl: Any) -> str | None:
    """``ttl``: a timedelta, days as a number, or None (the retention policy decides)."""
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        delta = ttl
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and math.isfinite(ttl) and ttl > 0:
        delta = timedelta(days=ttl)
    else:
        raise ValidationError(f"ttl must be a positive number of days or a timedelta, got {ttl!r}", field="ttl")
    return iso(utcnow() + delta)


@dataclass
class NewMemory:
    """A validated item, ready to become a ``memory.created`` event."""

    text: str
    chash: str
    payload: dict[str, Any]


def prepare(item: Mapping[str, Any], *, defaults: Mapping[str, Any], max_chars: int, extra_kinds: Sequence[str],
            session_id: str, index: int | None = None) -> NewMemory:
    """Validate one item of ``remember``/``remember_many`` (errors name the item)."""
    where = "" if index is None else f"item {index}: "
    unknown = set(item) - {"text", "tier", "kind", "meta", "source", "source_ref", "derived_from", "client", "project",
                           "event_time", "ttl", "sensitive", "episode"}
    try:
        if unknown:
            raise ValidationError(f"unknown field(s) {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
        get = lambda k: item[k] if k in item else defaults.get(k)  # noqa: E731
        text = check_text(item.get("text"), max_chars=max_chars)
        tier = check_tier(get("tier") or "working")
        kind = check_kind(get("kind") or "note", extra_kinds)
        meta = check_meta(item.get("meta"))
        source, source_ref = parse_source(get("source"), get("source_ref"))
        derived = [memory_id_of(d) for d in (get("derived_from") or [])]
        event_time = to_time(get("event_time"))
        expires_at = ttl_expiry(get("ttl"))
        episode = get("episode") or next((str(meta[k]) for k in EPISODE_KEYS if meta.get(k) not in (None, "")), None)
        client, project = get("client"), get("project")
        for name, v in (("client", client), ("project", project), ("source_ref", source_ref)):
            if v is not None and not isinstance(v, str):
                raise ValidationError(f"{name} must be a string id, got {v!r}", field=name)
    except ValidationError as exc:
        raise ValidationError(f"{where}{exc}", field=exc.field) from None
    chash = content_hash(text)
    payload: dict[str, Any] = {
        "tier": tier, "kind": kind, "content_hash": chash, "chars": len(text), "meta": meta, "source": source,
        "source_ref": source_ref, "derived_from": derived, "client_id": client, "project_id": project,
        "episode": str(episode) if episode is not None else None, "session_id": session_id if tier == "session" else None,
        "event_time": event_time, "expires_at": expires_at, "sensitive": bool(get("sensitive")),
    }
    key_fields = {k: payload[k] for k in ("tier", "kind", "content_hash", "meta", "source", "source_ref", "derived_from",
                                          "client_id", "project_id", "episode", "session_id", "event_time")}
    payload["dedup_key"] = hashlib.sha256(_json.dumps(key_fields).encode()).hexdigest()
    return NewMemory(text, chash, payload)


def put_content(conn: Any, chash: str, text: str) -> None:
    # A purged text that is remembered again is a new, explicit decision: store it again.
    conn.execute(
        "INSERT INTO memory_content(hash, text, chars) VALUES (?,?,?) "
        "ON CONFLICT(hash) DO UPDATE SET text=excluded.text, purged_at=NULL WHERE memory_content.text IS NULL",
        (chash, text, len(text)),
    )


def create_many(store: Store, items: Sequence[NewMemory], *, actor: str, correlation_id: str | None = None,
                reason: str | None = None) -> list[tuple[MemoryRef, bool]]:
    """Write new records in one transaction; an active record with the same dedup key is reused.

    Returns one ``(ref, created)`` per item, in order.
    """
    out: list[tuple[MemoryRef, bool]] = []
    seen: dict[str, MemoryRef] = {}
    with store.atomic() as conn:
        for item in items:
            key = item.payload["dedup_key"]
            if key in seen:
                out.append((seen[key], False))
                continue
            row = conn.execute("SELECT id, version FROM memories WHERE dedup_key=? AND status='active' LIMIT 1", (key,)).fetchone()
            if row is not None:
                ref = MemoryRef(row[0], row[1])
                seen[key] = ref
                out.append((ref, False))
                continue
            mid = new_id("m")
            put_content(conn, item.chash, item.text)
            payload = dict(item.payload, vec_id=vec_id(mid, item.chash))
            if reason:
                payload["reason"] = reason
            store.emit("memory.created", f"memory:{mid}", payload, actor=actor, correlation_id=correlation_id)
            ref = MemoryRef(mid, 1)
            seen[key] = ref
            out.append((ref, True))
    return out


def get_row(store: Store, id: str, *, active: bool = False) -> dict[str, Any]:
    mid = memory_id_of(id)
    row = store.one("SELECT m.*, c.text FROM memories m JOIN memory_content c ON c.hash = m.content_hash WHERE m.id=?", (mid,))
    if row is None:
        raise NotFoundError(f"no memory with id {mid!r}; wb.memory.frame() lists them", id=mid)
    out = decode(dict(row))
    if active and out["status"] != "active":
        raise ValidationError(f"memory {mid} is {out['status']} ({out['status_reason']}); it cannot be changed any more. "
                              "Remember the text again to make a new record", field="id")
    return out


def decode(row: dict[str, Any]) -> dict[str, Any]:
    for col in ("meta", "derived_from"):
        if col in row:
            row[col] = _json.loads(row[col])
    if "sensitive" in row:
        row["sensitive"] = bool(row["sensitive"])
    return row


def update(store: Store, id: str, text: Any, *, meta: Mapping[str, Any] | None, reason: str, actor: str,
           max_chars: int) -> tuple[MemoryRef, str | None]:
    """Write version n+1; returns the new ref and the previous content hash (None when nothing changed)."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("an update needs a reason (why the memory changed), e.g. reason='client corrected the date'",
                              field="reason")
    text = check_text(text, max_chars=max_chars)
    new_meta = check_meta(meta) if meta is not None else None
    with store.atomic() as conn:
        row = get_row(store, id, active=True)
        chash = content_hash(text)
        merged = row["meta"] if new_meta is None else new_meta
        if chash == row["content_hash"] and _json.dumps(merged) == _json.dumps(row["meta"]):
            return MemoryRef(row["id"], row["version"]), None
        put_content(conn, chash, text)
        version = row["version"] + 1
        store.emit("memory.updated", f"memory:{row['id']}",
                   {"version": version, "content_hash": chash, "chars": len(text), "meta": merged, "reason": reason,
                    "previous_hash": row["content_hash"], "vec_id": vec_id(row["id"], chash)}, actor=actor)
    return MemoryRef(row["id"], version), row["content_hash"]


def move(store: Store, id: str, tier: str, *, reason: str, actor: str, session_id: str | None) -> MemoryRef:
    to = check_tier(tier)
    with store.atomic():
        row = get_row(store, id, active=True)
        if row["tier"] == to:
            return MemoryRef(row["id"], row["version"])
        store.emit("memory.moved", f"memory:{row['id']}",
                   {"from": row["tier"], "to": to, "reason": reason, "expires_at": row["expires_at"],
                    "session_id": session_id if to == "session" else None}, actor=actor)
    return MemoryRef(row["id"], row["version"])


def tombstone(store: Store, id: str, *, type: str, reason: str, actor: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("say why: forget(id, reason='...') is kept in the audit trail", field="reason")
    with store.atomic():
        row = get_row(store, id)
        if row["status"] != "active":
            return row
        store.emit(type, f"memory:{row['id']}", {"reason": reason, **(extra or {})}, actor=actor)
    return row


def mark(store: Store, id: str, *, sensitive: bool, actor: str, reason: str) -> None:
    with store.atomic():
        row = get_row(store, id)
        if row["sensitive"] != sensitive:
            store.emit("memory.marked", f"memory:{row['id']}", {"sensitive": sensitive, "reason": reason}, actor=actor)


def purge(store: Store, id: str, *, reason: str, actor: str) -> list[str]:
    """Remove the text of every version of a record (and of records sharing it); returns the hashes removed."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("a purge needs a reason; it is kept in the audit trail", field="reason")
    with store.atomic() as conn:
        row = get_row(store, id)
        hashes = [r[0] for r in conn.execute("SELECT DISTINCT content_hash FROM memory_versions WHERE memory_id=?", (row["id"],))]
        marks = ",".join("?" * len(hashes))
        ids = [r[0] for r in conn.execute(f"SELECT id FROM memories WHERE content_hash IN ({marks})", hashes)]
        store.emit("memory.purged", f"memory:{row['id']}", {"reason": reason, "hashes": hashes, "ids": ids}, actor=actor)
        now = iso()
        conn.execute(f"UPDATE memory_content SET text=NULL, purged_at=? WHERE hash IN ({marks})", (now, *hashes))
        # Vectors are derived from the text and can leak it: they go too.
        conn.execute(f"DELETE FROM memory_embeddings WHERE content_hash IN ({marks})", hashes)
    return hashes


def history(store: Store, id: str) -> list[Version]:
    mid = memory_id_of(id)
    rows = store.query(
        "SELECT v.*, c.text FROM memory_versions v JOIN memory_content c ON c.hash = v.content_hash "
        "WHERE v.memory_id=? ORDER BY v.version", (mid,))
    if not rows:
        raise NotFoundError(f"no memory with id {mid!r}", id=mid)
    return [Version(r["memory_id"], r["version"], r["text"], r["content_hash"], _json.loads(r["meta"]), r["actor"], r["reason"], r["at"])
            for r in rows]


def ids_of(values: Iterable[str]) -> list[str]:
    return [memory_id_of(v) for v in values]
