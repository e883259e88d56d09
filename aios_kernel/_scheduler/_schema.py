"""The ``scheduler`` component: schedules and pipeline runs as projections of events.

``schedules`` holds the schedules defined with ``aios schedule add`` and those
read from ``aios.toml`` (``source``), each with ``paused`` and the instant its
ticks were last decided up to (``evaluated_through``). ``pipeline_runs`` holds
one row per tick (``tick_key`` = schedule + scheduled instant, unique: a tick is
run once, whoever claims it) or per manual run. ``pipeline_progress`` is plain
liveness (the cell a run is at, the processes running it), not history.
"""

from __future__ import annotations

import sqlite3

from .._store import Event, Migration, component
from .._store._json import dumps

DDL = """
CREATE TABLE schedules (
    name TEXT PRIMARY KEY, source TEXT NOT NULL, definition TEXT NOT NULL, paused INTEGER NOT NULL DEFAULT 0,
    evaluated_through TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE pipeline_runs (
    id TEXT PRIMARY KEY, schedule TEXT, tick_key TEXT UNIQUE, scheduled_for TEXT, scheduled_utc TEXT,
    notebook TEXT NOT NULL, parameters TEXT NOT NULL DEFAULT '{}', status TEXT NOT NULL, reason TEXT,
    trigger TEXT NOT NULL, owner TEXT, executor TEXT, attempt INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL DEFAULT 1,
    timeout_s REAL NOT NULL, resume INTEGER NOT NULL DEFAULT 1, cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT, duration_s REAL, folder TEXT, executed TEXT, html TEXT,
    error TEXT, error_cell INTEGER, cells INTEGER, attempts TEXT NOT NULL DEFAULT '[]', outputs TEXT NOT NULL DEFAULT '{}',
    workflow_runs TEXT NOT NULL DEFAULT '[]', approvals TEXT NOT NULL DEFAULT '[]', effects TEXT NOT NULL DEFAULT '[]',
    cost TEXT NOT NULL DEFAULT '{}', resumed TEXT NOT NULL DEFAULT '{}',
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX pipeline_runs_schedule ON pipeline_runs(schedule, scheduled_utc);
CREATE INDEX pipeline_runs_status ON pipeline_runs(status);
CREATE TABLE pipeline_progress (
    run_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, cell INTEGER NOT NULL DEFAULT 0, cells INTEGER NOT NULL DEFAULT 0,
    child_pid INTEGER, kernel_pids TEXT NOT NULL DEFAULT '[]', updated_at TEXT NOT NULL
);
"""

scheduler = component("scheduler", tables=["schedules", "pipeline_runs"])
scheduler.add_migration(Migration(1, "schedules_pipeline_runs", DDL))


@scheduler.projector("schedule.saved")
def _saved(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "INSERT INTO schedules(name, source, definition, created_at, updated_at, event_seq) VALUES (?,?,?,?,?,?)"
        " ON CONFLICT(name) DO UPDATE SET source=excluded.source, definition=excluded.definition,"
        " updated_at=excluded.updated_at, event_seq=excluded.event_seq",
        (p["name"], p["source"], dumps(p["definition"]), e.at, e.at, e.seq))


@scheduler.projector("schedule.paused", "schedule.resumed")
def _paused(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute("UPDATE schedules SET paused=?, updated_at=?, event_seq=? WHERE name=?",
                 (int(e.type == "schedule.paused"), e.at, e.seq, e.payload["name"]))


@scheduler.projector("schedule.removed")
def _removed(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute("DELETE FROM schedules WHERE name=?", (e.payload["name"],))


@scheduler.projector("schedule.evaluated")
def _evaluated(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute("UPDATE schedules SET evaluated_through=?, event_seq=? WHERE name=?",
                 (e.payload["through"], e.seq, e.payload["name"]))


@scheduler.projector("pipeline.run_claimed")
def _claimed(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    final = p["status"] == "skipped"
    conn.execute(
        "INSERT INTO pipeline_runs(id, schedule, tick_key, scheduled_for, scheduled_utc, notebook, parameters, status, reason,"
        " trigger, owner, max_attempts, timeout_s, resume, created_at, ended_at, event_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (p["id"], p.get("schedule"), p.get("tick_key"), p.get("scheduled_for"), p.get("scheduled_utc"), p["notebook"],
         dumps(p.get("parameters") or {}), p["status"], p.get("reason"), p["trigger"], p.get("owner"), p.get("max_attempts", 1),
         p.get("timeout_s", 3600.0), int(p.get("resume", True)), e.at, e.at if final else None, e.seq))


@scheduler.projector("pipeline.run_started")
def _started(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute("UPDATE pipeline_runs SET status='running', attempt=?, executor=?, owner=coalesce(?, owner), folder=?,"
                 " started_at=coalesce(started_at, ?), event_seq=? WHERE id=?",
                 (p["attempt"], p["executor"], p.get("owner"), p.get("folder"), e.at, e.seq, p["id"]))


@scheduler.projector("pipeline.attempt_failed")
def _attempt_failed(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    row = conn.execute("SELECT attempts FROM pipeline_runs WHERE id=?", (p["id"],)).fetchone()
    import json

    history = json.loads(row[0]) if row else []
    history.append({k: p.get(k) for k in ("attempt", "status", "error", "folder", "at")})
    conn.execute("UPDATE pipeline_runs SET status='pending', error=?, attempts=?, event_seq=? WHERE id=?",
                 (p.get("error"), dumps(history), e.seq, p["id"]))


@scheduler.projector("pipeline.cancel_requested")
def _cancel(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute("UPDATE pipeline_runs SET cancel_requested=1, reason=coalesce(?, reason), event_seq=? WHERE id=?",
                 (e.payload.get("reason"), e.seq, e.payload["id"]))


@scheduler.projector("pipeline.run_ended")
def _ended(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "UPDATE pipeline_runs SET status=?, reason=coalesce(?, reason), ended_at=?, duration_s=?, folder=coalesce(?, folder),"
        " executed=?, html=?, error=?, error_cell=?, cells=?, outputs=?, workflow_runs=?, approvals=?, effects=?, cost=?, resumed=?,"
        " event_seq=? WHERE id=?",
        (p["status"], p.get("reason"), e.at, p.get("duration_s"), p.get("folder"), p.get("executed"), p.get("html"),
         p.get("error"), p.get("error_cell"), p.get("cells"), dumps(p.get("outputs") or {}), dumps(p.get("workflow_runs") or []),
         dumps(p.get("approvals") or []), dumps(p.get("effects") or []), dumps(p.get("cost") or {}),
         dumps(p.get("resumed") or {}), e.seq, p["id"]))
    conn.execute("DELETE FROM pipeline_progress WHERE run_id=?", (p["id"],))


@scheduler.projector("pipeline.run_adopted")
def _adopted(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute("UPDATE pipeline_runs SET owner=?, status=?, event_seq=? WHERE id=?",
                 (e.payload["owner"], e.payload["status"], e.seq, e.payload["id"]))
