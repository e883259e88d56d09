"""The ``memory`` component: tables, migrations and projectors.

What is an event and what is not:

- ``memories`` and ``memory_versions`` are projections of ``memory.*`` events
  (created, updated, moved, forgotten, expired, purged, marked): rebuilt from
  the log by ``Store.rebuild``.
- ``memory_content`` holds the text, keyed by its SHA-256. Events carry the
  hash, never the text, so a sensitive text can be purged (set to NULL) while
  the hash chain, which covers the event, stays intact. It is written in the
  same transaction as the event that first names the hash, so no event points
  at a hash whose text was never stored.
- ``memory_embeddings`` (vectors keyed by content hash and model id) and
  ``memory_embed_failures`` are derived caches: recomputable from the text,
  so they need no event; they are written inside ``store.atomic()``.
- ``memory_models`` records which embedding model the workspace's vectors
  belong to; a model change is a ``memory.model_changed`` event.

This module stays light: no model, Dask or faiss import.
"""

from __future__ import annotations

import sqlite3

from .._store import Event, Migration, component
from .._store import _json

TIERS = ("session", "working", "long-term")
"""Memory tiers, from most to least ephemeral."""

TIER_ALIASES = {"long_term": "long-term", "longterm": "long-term", "long": "long-term", "project": "working"}

KINDS = (
    "note", "draft", "interaction", "turn", "message", "email", "meeting", "document",
    "fact", "preference", "rule", "history", "summary", "task", "decision", "assertion",
)
"""Known record kinds; ``[memory] kinds`` in aios.toml adds more."""

SOURCES = ("operator", "file", "email", "connector", "agent", "system", "memory")
"""Where a record came from; ``memory`` marks records derived from other memories."""

STATUSES = ("active", "forgotten", "expired", "purged")

DDL = """
CREATE TABLE memory_content (
    hash      TEXT PRIMARY KEY,
    text      TEXT,
    chars     INTEGER NOT NULL,
    purged_at TEXT
);
CREATE TABLE memories (
    id            TEXT PRIMARY KEY,
    created_seq   INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    vec_id        INTEGER NOT NULL,
    tier          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    content_hash  TEXT NOT NULL REFERENCES memory_content(hash),
    meta          TEXT NOT NULL DEFAULT '{}',
    source        TEXT NOT NULL,
    source_ref    TEXT,
    derived_from  TEXT NOT NULL DEFAULT '[]',
    client_id     TEXT,
    project_id    TEXT,
    episode       TEXT,
    session_id    TEXT,
    event_time    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    expires_at    TEXT,
    sensitive     INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'active',
    status_reason TEXT,
    dedup_key     TEXT NOT NULL,
    actor         TEXT NOT NULL,
    event_seq     INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX memories_status ON memories(status, tier, kind);
CREATE INDEX memories_seq ON memories(event_seq);
CREATE INDEX memories_dedup ON memories(dedup_key, status);
CREATE INDEX memories_vec ON memories(vec_id);
CREATE INDEX memories_hash ON memories(content_hash);
CREATE INDEX memories_episode ON memories(episode, event_time, created_seq);
CREATE INDEX memories_expiry ON memories(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE memory_versions (
    memory_id    TEXT NOT NULL,
    version      INTEGER NOT NULL,
    content_hash TEXT NOT NULL REFERENCES memory_content(hash),
    meta         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    reason       TEXT,
    at           TEXT NOT NULL,
    event_seq    INTEGER NOT NULL REFERENCES events(seq),
    PRIMARY KEY (memory_id, version)
);
CREATE TABLE memory_embeddings (
    content_hash TEXT NOT NULL,
    model_id     TEXT NOT NULL,
    dim          INTEGER NOT NULL,
    vector       BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (content_hash, model_id)
);
CREATE TABLE memory_embed_failures (
    content_hash TEXT NOT NULL,
    model_id     TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    last_error   TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (content_hash, model_id)
);
CREATE TABLE memory_models (
    model_id     TEXT PRIMARY KEY,
    dim          INTEGER NOT NULL,
    active       INTEGER NOT NULL,
    activated_at TEXT NOT NULL,
    event_seq    INTEGER NOT NULL REFERENCES events(seq)
);
"""

memory = component("memory", tables=["memory_models", "memory_versions", "memories"])
memory.add_migration(Migration(1, "tiered_memory", DDL))

_CREATE_COLUMNS = (
    "tier", "kind", "content_hash", "meta", "source", "source_ref", "derived_from", "client_id", "project_id",
    "episode", "session_id", "event_time", "expires_at", "sensitive", "dedup_key", "vec_id",
)


def memory_id(event: Event) -> str:
    return event.entity.split(":", 1)[1]


@memory.projector("memory.created")
def _created(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    values = [p.get(c) for c in _CREATE_COLUMNS]
    values[_CREATE_COLUMNS.index("meta")] = _json.dumps(p.get("meta") or {})
    values[_CREATE_COLUMNS.index("derived_from")] = _json.dumps(p.get("derived_from") or [])
    values[_CREATE_COLUMNS.index("sensitive")] = 1 if p.get("sensitive") else 0
    conn.execute(
        f"INSERT INTO memories(id, created_seq, version, {', '.join(_CREATE_COLUMNS)}, created_at, updated_at, status, actor, event_seq)"
        f" VALUES (?, ?, 1, {', '.join('?' * len(_CREATE_COLUMNS))}, ?, ?, 'active', ?, ?)",
        (memory_id(event), event.seq, *values, event.at, event.at, event.actor, event.seq),
    )
    conn.execute(
        "INSERT INTO memory_versions VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
        (memory_id(event), p["content_hash"], _json.dumps(p.get("meta") or {}), event.actor, p.get("reason"), event.at, event.seq),
    )


@memory.projector("memory.updated")
def _updated(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    mid = memory_id(event)
    conn.execute(
        "UPDATE memories SET version=?, content_hash=?, meta=?, vec_id=?, updated_at=?, event_seq=? WHERE id=?",
        (p["version"], p["content_hash"], _json.dumps(p["meta"]), p["vec_id"], event.at, event.seq, mid),
    )
    conn.execute(
        "INSERT INTO memory_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (mid, p["version"], p["content_hash"], _json.dumps(p["meta"]), event.actor, p.get("reason"), event.at, event.seq),
    )


@memory.projector("memory.moved")
def _moved(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute(
        "UPDATE memories SET tier=?, expires_at=?, session_id=?, updated_at=?, event_seq=? WHERE id=?",
        (p["to"], p.get("expires_at"), p.get("session_id"), event.at, event.seq, memory_id(event)),
    )


@memory.projector("memory.forgotten", "memory.expired")
def _tombstone(conn: sqlite3.Connection, event: Event) -> None:
    status = "forgotten" if event.type == "memory.forgotten" else "expired"
    conn.execute(
        "UPDATE memories SET status=?, status_reason=?, updated_at=?, event_seq=? WHERE id=?",
        (status, event.payload.get("reason"), event.at, event.seq, memory_id(event)),
    )


@memory.projector("memory.marked")
def _marked(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute(
        "UPDATE memories SET sensitive=?, updated_at=?, event_seq=? WHERE id=?",
        (1 if event.payload.get("sensitive") else 0, event.at, event.seq, memory_id(event)),
    )


@memory.projector("memory.purged")
def _purged(conn: sqlite3.Connection, event: Event) -> None:
    # The text itself is removed from memory_content by the caller in the same
    # transaction; the event records which hash went and why.
    for mid in event.payload.get("ids") or [memory_id(event)]:
        conn.execute(
            "UPDATE memories SET status='purged', status_reason=?, updated_at=?, event_seq=? WHERE id=?",
            (event.payload.get("reason"), event.at, event.seq, mid),
        )


@memory.projector("memory.model_changed")
def _model_changed(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute("UPDATE memory_models SET active=0")
    conn.execute(
        "INSERT INTO memory_models VALUES (?, ?, 1, ?, ?) ON CONFLICT(model_id) DO UPDATE SET active=1,"
        " dim=excluded.dim, activated_at=excluded.activated_at, event_seq=excluded.event_seq",
        (p["model_id"], p["dim"], event.at, event.seq),
    )

memory.add_migration(Migration(2, "source_ref_index", "CREATE INDEX memories_source ON memories(source_ref);"))

memory.invariants("memories", json=("meta", "derived_from"), times=("event_time", "created_at", "updated_at", "expires_at"))
memory.invariants("memory_versions", json=("meta",), times=("at",))
