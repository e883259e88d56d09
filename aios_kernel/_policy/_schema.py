"""The ``policy`` component: ``approvals``, durable records of what waits for a person.

========================  ==================================================
approval.requested        a new ``approvals`` row (pending)
approval.decided          its decision (approved, rejected, chosen), by whom, when
approval.deferred         deferred until a time
========================  ==================================================

Recording a decision is all the policy does; the orchestrator reacts to
``approval.decided`` (it puts the waiting task back in the queue).
"""

from __future__ import annotations

import sqlite3

from .._store import Event, Migration, _json, component

# IF NOT EXISTS: stores written before this component existed already have the table (the
# orchestrator created it then), with the same columns.
DDL = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, task_id TEXT NOT NULL, step TEXT NOT NULL,
    kind TEXT NOT NULL, action TEXT, title TEXT NOT NULL, payload TEXT NOT NULL DEFAULT '{}',
    why TEXT NOT NULL DEFAULT '{}', evidence TEXT NOT NULL DEFAULT '[]', cost TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '[]', status TEXT NOT NULL, decision TEXT, choice TEXT, edits TEXT,
    reason TEXT, decided_by TEXT, deferred_until TEXT, created_at TEXT NOT NULL, decided_at TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals(status, created_at);
CREATE INDEX IF NOT EXISTS approvals_task ON approvals(task_id);
"""

policy = component("policy", tables=["approvals"])
policy.add_migration(Migration(1, "approvals", DDL))

_j = _json.dumps


def _id(event: Event) -> str:
    return event.entity.split(":", 1)[1]


@policy.projector("approval.requested")
def _approval_requested(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute(
        "INSERT INTO approvals(id, run_id, task_id, step, kind, action, title, payload, why, evidence, cost, options, status,"
        " created_at, event_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'pending',?,?)",
        (_id(event), p["run_id"], p["task_id"], p["step"], p["kind"], p.get("action"), p["title"], _j(p.get("payload", {})),
         _j(p.get("why", {})), _j(p.get("evidence", [])), _j(p.get("cost", {})), _j(p.get("options", [])), event.at, event.seq),
    )


@policy.projector("approval.decided")
def _approval_decided(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute("UPDATE approvals SET status=?, decision=?, choice=?, edits=?, reason=?, decided_by=?, decided_at=?,"
                 " event_seq=? WHERE id=?",
                 (p["status"], p["decision"], p.get("choice"), _j(p.get("edits")), p.get("reason"), event.actor, event.at,
                  event.seq, _id(event)))


@policy.projector("approval.deferred")
def _approval_deferred(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute("UPDATE approvals SET status='deferred', deferred_until=?, reason=?, event_seq=? WHERE id=?",
                 (event.payload.get("until"), event.payload.get("reason"), event.seq, _id(event)))
