"""The append-only event log.

Each event's ``hash`` chains it to the previous one (see ``_chain``: HMAC-SHA256
under the workspace key, plain SHA-256 for events written before keyed chains),
so changing, removing or reordering any event breaks every hash after it.
Triggers refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .._errors import ValidationError
from . import _chain, _json
from ._chain import GENESIS, ChainKey, chain_hash  # noqa: F401  (GENESIS and chain_hash: the chain's names, read here too)

EVENTS_DDL = """
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    at             TEXT NOT NULL,
    type           TEXT NOT NULL,
    entity         TEXT NOT NULL,
    payload        TEXT NOT NULL,
    actor          TEXT NOT NULL,
    correlation_id TEXT,
    cause_id       TEXT,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX events_entity ON events(entity, seq);
CREATE INDEX events_type ON events(type, seq);
CREATE INDEX events_correlation ON events(correlation_id) WHERE correlation_id IS NOT NULL;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: record a new event instead'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: record a new event instead'); END;
"""


@dataclass(frozen=True)
class Event:
    """One recorded state change: who did what to which entity, why, and when."""

    seq: int
    id: str
    at: str
    type: str
    entity: str
    payload: dict[str, Any]
    actor: str
    correlation_id: str | None
    cause_id: str | None
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Event:
        return cls(
            seq=row["seq"], id=row["id"], at=row["at"], type=row["type"], entity=row["entity"],
            payload=_json.loads(row["payload"]), actor=row["actor"], correlation_id=row["correlation_id"],
            cause_id=row["cause_id"], prev_hash=row["prev_hash"], hash=row["hash"],
        )


def last(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last event's seq and hash (0 and the genesis hash for an empty log)."""
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def insert(conn: sqlite3.Connection, *, id: str, at: str, type: str, entity: str, payload: dict[str, Any],
           actor: str, correlation_id: str | None, cause_id: str | None, key: ChainKey | None = None) -> Event:
    """Append one event, hashed under ``key`` (plain SHA-256 without); the caller holds the write transaction.

    The returned event carries ``payload`` itself (not a parsed copy of what was
    written): parsing it back would cost as much again as the insert, on every
    step of every run. Callers must not change the dict after emitting it.
    """
    payload_json = _json.dumps(payload)
    prev_seq, prev_hash = last(conn)
    seq = prev_seq + 1
    try:
        data = _chain.body(prev_hash, seq, id, at, type, entity, payload_json, actor, correlation_id, cause_id)
    except (UnicodeEncodeError, TypeError):
        raise _not_text(id=id, at=at, type=type, entity=entity, payload=payload_json, actor=actor,
                        correlation_id=correlation_id, cause_id=cause_id) from None
    digest = _chain.digest(data, key)
    conn.execute(
        "INSERT INTO events(seq, id, at, type, entity, payload, actor, correlation_id, cause_id, prev_hash, hash)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (seq, id, at, type, entity, payload_json, actor, correlation_id, cause_id, prev_hash, digest),
    )
    return Event(seq, id, at, type, entity, payload, actor, correlation_id, cause_id, prev_hash, digest)


def _not_text(**fields: Any) -> ValidationError:
    """The error for an event field that is not storable text (a lone surrogate, a non-str value)."""
    for name, value in fields.items():
        if value is None:
            continue
        if not isinstance(value, str):
            return ValidationError(f"event {name} must be text, got {type(value).__name__}", field=name)
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            return ValidationError(f"event {name} holds characters that are not valid Unicode (lone surrogate at "
                                   f"position {exc.start}); decode the source with errors='replace'", field=name)
    return ValidationError("event fields must be valid Unicode text", field="payload")


def iter_events(conn: sqlite3.Connection, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[Event]:
    sql = "SELECT * FROM events" + (f" WHERE {where}" if where else "") + " ORDER BY seq"
    for row in conn.execute(sql, params):
        yield Event.from_row(row)
