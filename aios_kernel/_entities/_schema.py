"""The ``entities`` component: the business's canonical records.

Every table is a projection of ``<kind>.upserted`` events (or
``<kind>.removed``); ``event_seq`` points at the event that wrote the row,
and the foreign key to ``events`` makes a row without its event impossible.
"""

from __future__ import annotations

import sqlite3

from .._store import Event, Migration, component
from .._store import _json

TABLES: dict[str, list[str]] = {
    "clients": ["id", "name", "domain", "city", "since", "notes", "aliases", "country", "vat_id", "vat_rate", "address",
                "postcode"],
    "contacts": ["id", "client_id", "name", "email", "aliases"],
    "projects": ["id", "code", "name", "client_id", "status", "start", "end", "budget_hours", "rate_key", "description"],
    "rates": ["id", "key", "description", "hourly_rate", "currency"],
    "artifacts": ["id", "kind", "title", "date", "client_id", "project_id", "source_path", "source_hash", "body", "meta"],
    "deliverables": ["id", "project_id", "title", "due", "status"],
    "tasks": ["id", "project_id", "title", "due", "status", "priority"],
    "time_entries": ["id", "project_id", "date", "hours", "description", "source_path"],
    "ingest_rejections": ["id", "source_path", "source_hash", "error"],
}
"""Columns of each projection table (besides ``event_seq``); JSON columns: aliases, meta."""

JSON_COLUMNS = {"aliases", "meta"}

KIND_OF_TABLE = {
    "clients": "client", "contacts": "contact", "projects": "project", "rates": "rate", "artifacts": "artifact",
    "deliverables": "deliverable", "tasks": "task", "time_entries": "time_entry", "ingest_rejections": "rejection",
}
TABLE_OF_KIND = {kind: table for table, kind in KIND_OF_TABLE.items()}

DDL = """
CREATE TABLE clients (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, domain TEXT, city TEXT, since TEXT, notes TEXT,
    aliases TEXT NOT NULL DEFAULT '[]', event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE contacts (
    id TEXT PRIMARY KEY, client_id TEXT REFERENCES clients(id), name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
    aliases TEXT NOT NULL DEFAULT '[]', event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE projects (
    id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, client_id TEXT REFERENCES clients(id),
    status TEXT NOT NULL, start TEXT, "end" TEXT, budget_hours REAL, rate_key TEXT, description TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE rates (
    id TEXT PRIMARY KEY, key TEXT NOT NULL UNIQUE, description TEXT, hourly_rate REAL NOT NULL, currency TEXT NOT NULL,
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE artifacts (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, date TEXT, client_id TEXT REFERENCES clients(id),
    project_id TEXT REFERENCES projects(id), source_path TEXT, source_hash TEXT, body TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}', event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX artifacts_kind ON artifacts(kind, date);
CREATE TABLE deliverables (
    id TEXT PRIMARY KEY, project_id TEXT REFERENCES projects(id), title TEXT NOT NULL, due TEXT, status TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, project_id TEXT REFERENCES projects(id), title TEXT NOT NULL, due TEXT, status TEXT,
    priority TEXT, event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE time_entries (
    id TEXT PRIMARY KEY, project_id TEXT REFERENCES projects(id), date TEXT NOT NULL, hours REAL NOT NULL,
    description TEXT, source_path TEXT, event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE ingest_rejections (
    id TEXT PRIMARY KEY, source_path TEXT NOT NULL, source_hash TEXT, error TEXT NOT NULL,
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
"""

entities = component("entities", tables=list(TABLES))
entities.add_migration(Migration(1, "canonical_entities", DDL))
entities.add_migration(Migration(2, "client_tax_and_address", """
ALTER TABLE clients ADD COLUMN country TEXT;
ALTER TABLE clients ADD COLUMN vat_id TEXT;
ALTER TABLE clients ADD COLUMN vat_rate TEXT;
ALTER TABLE clients ADD COLUMN address TEXT;
ALTER TABLE clients ADD COLUMN postcode TEXT;
"""))


def _upsert_projector(table: str):
    columns = TABLES[table]
    quoted = [f'"{c}"' for c in columns]
    sql = (
        f"INSERT INTO {table}({', '.join(quoted)}, event_seq) VALUES ({', '.join('?' * (len(columns) + 1))}) "
        f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{q}=excluded.{q}' for q in quoted[1:])}, event_seq=excluded.event_seq"
    )

    def project(conn: sqlite3.Connection, event: Event) -> None:
        row = event.payload["row"]
        values = [_json.dumps(row.get(c)) if c in JSON_COLUMNS else row.get(c) for c in columns]
        conn.execute(sql, (*values, event.seq))

    return project


def _remove_projector(table: str):
    def project(conn: sqlite3.Connection, event: Event) -> None:
        conn.execute(f"DELETE FROM {table} WHERE id = ?", (event.entity.split(":", 1)[1],))

    return project


for _table, _kind in KIND_OF_TABLE.items():
    entities.projector(f"{_kind}.upserted")(_upsert_projector(_table))
    entities.projector(f"{_kind}.removed")(_remove_projector(_table))

for _table in ("clients", "contacts"):
    entities.invariants(_table, json=("aliases",))
entities.invariants("artifacts", json=("meta",), times=("date",))
