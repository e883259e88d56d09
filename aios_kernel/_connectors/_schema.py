"""The ``connectors`` component: circuit breakers, rate-limit buckets, call counts, the hand-over journal.

Every process working on a workspace shares these, so a breaker opened by a
scheduled run is open for the notebook too, and two workers draw from one
rate-limit bucket.

========================  ==================================================
connector.breaker         ``connector_breakers``: closed, open (until when, why) or half-open
========================  ==================================================

The other tables are operational state, not history (like the orchestrator's
heartbeats): ``connector_buckets`` (tokens left per connector and action),
``connector_usage`` (calls, failures and the last error per connector and
day), ``connector_journal`` (how far a hand-over got: an e-mail's DATA
started, or was accepted), ``mail_sync`` / ``mail_seen`` (how far each
mailbox was read) and ``mail_sync_lock`` (one sync per mailbox at a time),
written in their own committed transactions because a crash must not lose
them. What mail sync brought in is recorded as the entities' own events.
"""

from __future__ import annotations

import sqlite3

from .._store import Event, Migration, component

DDL = """
CREATE TABLE connector_breakers (
    name TEXT PRIMARY KEY, state TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, opened_at TEXT,
    retry_at REAL, reason TEXT, event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE connector_buckets (bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE connector_usage (
    name TEXT NOT NULL, day TEXT NOT NULL, calls INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
    consecutive INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_error_at TEXT, last_call_at TEXT,
    PRIMARY KEY (name, day)
);
CREATE TABLE connector_journal (key TEXT NOT NULL, stage TEXT NOT NULL, at TEXT NOT NULL, detail TEXT,
                                PRIMARY KEY (key, stage));
CREATE TABLE mail_sync (mailbox TEXT PRIMARY KEY, uidvalidity INTEGER, last_uid INTEGER NOT NULL DEFAULT 0,
                        synced_at TEXT NOT NULL);
CREATE TABLE mail_seen (mailbox TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (mailbox, key)) WITHOUT ROWID;
CREATE TABLE mail_sync_lock (mailbox TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
"""

connectors = component("connectors", tables=["connector_breakers"])
connectors.add_migration(Migration(1, "breakers_buckets_usage_journal", DDL))


@connectors.projector("connector.breaker")
def _breaker(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute(
        "INSERT INTO connector_breakers(name, state, failures, opened_at, retry_at, reason, event_seq) VALUES (?,?,?,?,?,?,?)"
        " ON CONFLICT(name) DO UPDATE SET state=excluded.state, failures=excluded.failures, opened_at=excluded.opened_at,"
        " retry_at=excluded.retry_at, reason=excluded.reason, event_seq=excluded.event_seq",
        (event.entity.split(":", 1)[1], p["state"], int(p.get("failures", 0)), event.at if p["state"] == "open" else None,
         p.get("retry_at"), p.get("reason"), event.seq))
