"""Writing memory records as events, and reading them back.

Every change is an event (``memory.created``, ``.updated``, ``.moved``,
``.forgotten``, ``.expired``, ``.marked``, ``.purged``): nothing is
overwritten in place without one, and old versions stay in
``memory_versions``. Validation happens before anything is written, so a
bad item in a batch writes nothing at all.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import _values
from .._errors import NotFoundError, StoreError, ValidationError
from .._ids import iso, new_id, utcnow
from .._limits import LIMITS
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
    """The text as ``str`` (UTF-8 bytes are decoded), or a ValidationError saying what is wrong with it."""
    return _values.text(text, field, max_chars=max_chars, allow_bytes=True)


def check_reason(reason: Any, what: str) -> str:
    """A non-empty reason for the audit trail; ``what`` says what to write (the message when it is missing)."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError(what, field="reason")
    return _values.reason(reason)


def check_actor(actor: Any) -> str:
    return _values.label(actor, "actor")


def check_tier(tier: Any) -> str:
    t = TIER_ALIASES.get(str(tier).lower(), str(tier).lower()) if isinstance(tier, str) else tier
    if t not in TIERS:
        raise ValidationError(f"unknown memory tier {_values.describe(tier)}; use one of {', '.join(TIERS)}", field="tier")
    return t


def check_kind(kind: Any, extra: Sequence[str] = ()) -> str:
    known = (*KINDS, *extra)
    if not isinstance(kind, str) or kind not in known:
        raise ValidationError(f"unknown memory kind {_values.describe(kind)}; use one of {', '.join(known)} "
                              "(or add it to [memory] kinds in aios.toml)", field="kind")
    return kind


def check_meta(meta: Any) -> dict[str, Any]:
    return _values.meta(meta, "meta")  # NaN, sets, objects, depth: a clear error now, not a broken event later


def parse_source(source: Any, source_ref: str | None) -> tuple[str, str | None]:
    """``"email"`` or ``"email:<message id>"`` (kind and reference in one string)."""
    if source is None:
        return "operator", source_ref
    if not isinstance(source, str) or not source:
        raise ValidationError(f"source must be a string such as 'file:notes/a.md', got {_values.describe(source)}",
                              field="source")
    _values.identifier(source, "source")
    kind, _, ref = source.partition(":")
    if kind not in SOURCES:
        raise ValidationError(f"unknown source {_values.describe(kind)}; use one of {', '.join(SOURCES)} (optionally 'kind:reference')", field="source")
    return kind, (source_ref or ref or None)


def to_datetime(value: Any, field: str = "event_time") -> datetime | None:
    """A datetime, date, epoch seconds or date string (ISO, "8 May 2023") as an aware UTC datetime; None for none."""
    from ._timeparse import parse_datetime

    return _values.optional_time(value, field, parse=parse_datetime)


def to_time(value: Any, field: str = "event_time") -> str | None:
    """:func:`to_datetime` in the store's ISO form."""
    dt = to_datetime(value, field)
    return None if dt is None else iso(dt)


def ttl_expiry(ttl: Any) -> str | None:
    """``ttl``: a timedelta, days as a number, or None (the retention policy decides)."""
    if ttl is None:
        return None
    return iso(utcnow() + _values.duration(ttl, "ttl"))


def check_ids(values: Any, field: str) -> list[str]:
    """A list of memory ids or refs (not a single string, which would be read letter by letter)."""
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or isinstance(values, Mapping):
        raise ValidationError(f"{field} must be a list of memory ids or refs, got {type(values).__name__}", field=field)
    return [memory_id_of(v) for v in values]


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
        derived = check_ids(get("derived_from"), "derived_from")
        event_time = to_time(get("event_time"))
        expires_at = ttl_expiry(get("ttl"))
        episode = _values.optional_identifier(get("episode") or None, "episode")
        if episode is None:
            found = next((meta[k] for k in EPISODE_KEYS if meta.get(k) not in (None, "")), None)
            episode = None if found is None else str(found)[:LIMITS.max_id_chars]
        client, project = get("client"), get("project")
        for name, v in (("client", client), ("project", project), ("source_ref", source_ref)):
            if v is not None:
                if not isinstance(v, str):
                    raise ValidationError(f"{name} must be a string id, got {type(v).__name__}", field=name)
                _values.identifier(v, name)
        sensitive = get("sensitive")
        if sensitive is not None and not isinstance(sensitive, (bool, int)):
            raise ValidationError(f"sensitive must be True or False, got {type(sensitive).__name__}", field="sensitive")
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
    try:
        out = decode(dict(row))
    except _json.DECODE_ERRORS as exc:
        raise StoreError(f"memory {mid} is damaged in the store ({type(exc).__name__} reading its meta); `aios verify` "
                         "names such rows. Write it again with remember(), or restore from a snapshot") from None
    if active and out["status"] != "active":
        raise ValidationError(f"memory {mid} is {out['status']} ({out['status_reason']}); it cannot be changed any more. "
                              "Remember the text again to make a new record", field="id")
    return out


def decode(row: dict[str, Any]) -> dict[str, Any]:
    """JSON columns parsed (raises ``_json.DECODE_ERRORS`` for a damaged row; readers of many rows skip it)."""
    for col in ("meta", "derived_from"):
        if col in row:
            row[col] = _json.loads(row[col])
    if "sensitive" in row:
        row["sensitive"] = bool(row["sensitive"])
    return row


def update(store: Store, id: str, text: Any, *, meta: Mapping[str, Any] | None, reason: str, actor: str,
           max_chars: int) -> tuple[MemoryRef, str | None]:
    """Write version n+1; returns the new ref and the previous content hash (None when nothing changed)."""
    check_reason(reason, "an update needs a reason (why the memory changed), e.g. reason='client corrected the date'")
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
    reason = _values.reason(reason)
    with store.atomic():
        row = get_row(store, id, active=True)
        if row["tier"] == to:
            return MemoryRef(row["id"], row["version"])
        store.emit("memory.moved", f"memory:{row['id']}",
                   {"from": row["tier"], "to": to, "reason": reason, "expires_at": row["expires_at"],
                    "session_id": session_id if to == "session" else None}, actor=actor)
    return MemoryRef(row["id"], row["version"])


def tombstone(store: Store, id: str, *, type: str, reason: str, actor: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    check_reason(reason, "say why: forget(id, reason='...') is kept in the audit trail")
    with store.atomic():
        row = get_row(store, id)
        if row["status"] != "active":
            return row
        store.emit(type, f"memory:{row['id']}", {"reason": reason, **(extra or {})}, actor=actor)
    return row


def mark(store: Store, id: str, *, sensitive: bool, actor: str, reason: str) -> None:
    if not isinstance(sensitive, bool):
        raise ValidationError(f"sensitive must be True or False, got {type(sensitive).__name__}", field="sensitive")
    reason = _values.reason(reason)
    with store.atomic():
        row = get_row(store, id)
        if row["sensitive"] != sensitive:
            store.emit("memory.marked", f"memory:{row['id']}", {"sensitive": sensitive, "reason": reason}, actor=actor)


def purge(store: Store, id: str, *, reason: str, actor: str) -> list[str]:
    """Remove the text of every version of a record (and of records sharing it); returns the hashes removed."""
    check_reason(reason, "a purge needs a reason; it is kept in the audit trail")
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
    out = []
    for r in rows:
        try:
            meta = _json.loads(r["meta"])
        except _json.DECODE_ERRORS:
            warnings.warn(f"memory {mid} version {r['version']}: its meta is damaged in the store and is shown as {{}} "
                          "(`aios verify` names such rows)", _json.DamagedRowWarning, stacklevel=3)
            meta = {}
        out.append(Version(r["memory_id"], r["version"], r["text"], r["content_hash"], meta, r["actor"], r["reason"], r["at"]))
    return out


def ids_of(values: Iterable[str]) -> list[str]:
    return [memory_id_of(v) for v in values]
