"""The append-only event log and its hash chain.

Each event's ``hash`` is SHA-256 over the previous event's hash and the
event's own canonical fields, so changing, removing or reordering any event
breaks every hash after it. Triggers refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import _json

GENESIS = "0" * 64

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


def chain_hash(prev_hash: str, seq: int, id: str, at: str, type: str, entity: str, payload_json: str,
               actor: str, correlation_id: str | None, cause_id: str | None) -> str:
    """The hash of one event given its predecessor's."""
    body = "\x1f".join([prev_hash, str(seq), id, at, type, entity, payload_json, actor, correlation_id or "", cause_id or ""])
    return hashlib.sha256(body.encode()).hexdigest()


def last(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last event's seq and hash (0 and the genesis hash for an empty log)."""
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def insert(conn: sqlite3.Connection, *, id: str, at: str, type: str, entity: str, payload: dict[str, Any],
           actor: str, correlation_id: str | None, cause_id: str | None) -> Event:
    """Append one event; the caller holds the write transaction.

    The returned event carries ``payload`` itself (not a parsed copy of what was
    written): parsing it back would cost as much again as the insert, on every
    step of every run. Callers must not change the dict after emitting it.
    """
    payload_json = _json.dumps(payload)
    prev_seq, prev_hash = last(conn)
    seq = prev_seq + 1
    digest = chain_hash(prev_hash, seq, id, at, type, entity, payload_json, actor, correlation_id, cause_id)
    conn.execute(
        "INSERT INTO events(seq, id, at, type, entity, payload, actor, correlation_id, cause_id, prev_hash, hash)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (seq, id, at, type, entity, payload_json, actor, correlation_id, cause_id, prev_hash, digest),
    )
    return Event(seq, id, at, type, entity, payload, actor, correlation_id, cause_id, prev_hash, digest)


def iter_events(conn: sqlite3.Connection, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[Event]:
    sql = "SELECT * FROM events" + (f" WHERE {where}" if where else "") + " ORDER BY seq"
    for row in conn.execute(sql, params):
        yield Event.from_row(row)


def verify_chain(conn: sqlite3.Connection) -> tuple[int, int | None, str | None]:
    """Walk the chain: (events checked, first bad seq or None, what was wrong)."""
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    for row in conn.execute(
        "SELECT seq, id, at, type, entity, payload, actor, correlation_id, cause_id, prev_hash, hash FROM events ORDER BY seq"
    ):
        seq = row[0]
        if seq != expected_seq:
            return checked, seq, f"event {expected_seq} is missing (found {seq} next)"
        if row[9] != prev_hash:
            return checked, seq, f"event {seq} does not link to event {seq - 1}"
        digest = chain_hash(prev_hash, *row[:9])
        if digest != row[10]:
            return checked, seq, f"event {seq} ({row[3]}) was altered after it was written"
        prev_hash = digest
        expected_seq += 1
        checked += 1
    return checked, None, None
