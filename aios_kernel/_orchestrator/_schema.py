"""The ``orchestrator`` component: runs, the task queue, step checkpoints, the outbox.

Every table here except ``heartbeats`` is a projection of events, so the
history of a run (who did what, when, with which agent version) is in the
hash-chained log and the tables can be rebuilt from it. Table names avoid
``tasks`` (an entity table): a run's units of work live in ``queue``.

Event types and what they write:

========================  ==================================================
run.submitted/.rejected   ``runs`` row
run.status                run status and error
run.allowance             budget raised by a "continue" decision
task.*                    the ``queue`` row's state machine
step.completed            the checkpoint (``step_rows``, read through the ``steps`` view)
step.compensated          an ``undo`` row in ``steps``
effect.*                  the ``outbox`` row
========================  ==================================================

Spans of these events are observability's (``aios_kernel._observability._schema``),
approvals the policy's. A decision (``approval.decided``) is the policy's event; the
orchestrator's reaction to it puts the waiting task back in the queue, in the
decision's transaction (see ``_reactions``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .._store import Event, Migration, _json, component

TERMINAL = ("succeeded", "failed", "compensated", "cancelled")
"""States a task or run never leaves (except a dead-lettered task an operator requeues)."""

DDL = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, workflow TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    params TEXT NOT NULL DEFAULT '{}', idempotency_key TEXT UNIQUE,
    mode TEXT NOT NULL DEFAULT 'live', allow_effects INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, goal TEXT,
    parent_run_id TEXT, from_step TEXT, error TEXT, allowance TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX runs_status ON runs(status, created_at);
CREATE TABLE queue (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), parent_id TEXT,
    name TEXT NOT NULL, template TEXT NOT NULL, item TEXT, agent TEXT NOT NULL,
    connectors TEXT NOT NULL DEFAULT '[]', status TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, leases INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL, generation INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_until REAL,
    cursor INTEGER NOT NULL DEFAULT 0, approval_id TEXT, dead_letter INTEGER NOT NULL DEFAULT 0,
    error TEXT, error_type TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    event_seq INTEGER NOT NULL REFERENCES events(seq),
    UNIQUE (run_id, name)
);
CREATE INDEX queue_ready ON queue(status, priority DESC, not_before, created_at);
CREATE INDEX queue_run ON queue(run_id);
CREATE TABLE steps (
    task_id TEXT NOT NULL REFERENCES queue(id), idx INTEGER NOT NULL, phase TEXT NOT NULL DEFAULT 'do',
    name TEXT NOT NULL, agent TEXT, agent_version TEXT, status TEXT NOT NULL,
    outputs TEXT NOT NULL DEFAULT '{}', evidence TEXT NOT NULL DEFAULT '[]', confidence REAL,
    cost TEXT NOT NULL DEFAULT '{}', started_at TEXT, ended_at TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq),
    PRIMARY KEY (task_id, idx, phase)
);
CREATE TABLE outbox (
    key TEXT PRIMARY KEY, run_id TEXT NOT NULL, task_id TEXT NOT NULL, step TEXT NOT NULL,
    connector TEXT NOT NULL, action TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,
    result TEXT, error TEXT, reconciled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, applied_at TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX outbox_status ON outbox(status);
CREATE INDEX outbox_run ON outbox(run_id);
-- Liveness only, not history: a heartbeat every few seconds as an event would
-- flood the log, and losing one merely lets a lease lapse a little sooner.
CREATE TABLE heartbeats (task_id TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
"""

orchestrator = component("orchestrator", tables=["runs", "queue", "step_rows", "outbox"])
# Stores made before the policy and observability components existed got ``approvals`` and ``spans``
# from this migration; those components now own them (created IF NOT EXISTS, same columns).
orchestrator.add_migration(Migration(1, "runs_queue_outbox_approvals_spans", DDL))
# A step's checkpoint row is also its span (the trace reads both tables), the table has no rowid
# (its key is the only index) and the queue row is not touched per step: each step writes one
# event and one row, which is most of the durable cost of a step.
orchestrator.add_migration(Migration(2, "lean_checkpoints", """
CREATE TABLE steps_v2 (
    task_id TEXT NOT NULL REFERENCES queue(id), idx INTEGER NOT NULL, phase TEXT NOT NULL DEFAULT 'do',
    name TEXT NOT NULL, agent TEXT, agent_version TEXT, status TEXT NOT NULL,
    outputs TEXT NOT NULL DEFAULT '{}', evidence TEXT NOT NULL DEFAULT '[]', confidence REAL,
    cost TEXT NOT NULL DEFAULT '{}', started_at TEXT, ended_at TEXT, span_id TEXT, run_id TEXT, note TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq),
    PRIMARY KEY (task_id, idx, phase)
) WITHOUT ROWID;
INSERT INTO steps_v2(task_id, idx, phase, name, agent, agent_version, status, outputs, evidence, confidence, cost,
                     started_at, ended_at, event_seq)
    SELECT task_id, idx, phase, name, agent, agent_version, status, outputs, evidence, confidence, cost, started_at,
           ended_at, event_seq FROM steps;
DROP TABLE steps;
ALTER TABLE steps_v2 RENAME TO steps;
"""))
orchestrator.add_migration(Migration(3, "queue_by_run_and_status", "CREATE INDEX queue_run_status ON queue(run_id, status);"))
# A checkpoint's outputs, evidence and cost are already in its event: the row keeps the rest and the
# ``steps`` view reads those three from the event. A row of ~150 bytes instead of a copy of the outputs
# (a 1 KB output made every row spill into an overflow page): fewer pages written per step. The left
# join lets SQLite skip the events table for queries that read none of its columns.
orchestrator.add_migration(Migration(4, "steps_read_outputs_from_their_event", """
CREATE TABLE step_rows (
    task_id TEXT NOT NULL REFERENCES queue(id), idx INTEGER NOT NULL, phase TEXT NOT NULL DEFAULT 'do',
    name TEXT NOT NULL, agent TEXT, agent_version TEXT, status TEXT NOT NULL, confidence REAL,
    started_at TEXT, ended_at TEXT, span_id TEXT, run_id TEXT, note TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq),
    PRIMARY KEY (task_id, idx, phase)
) WITHOUT ROWID;
INSERT INTO step_rows(task_id, idx, phase, name, agent, agent_version, status, confidence, started_at, ended_at, span_id,
                      run_id, note, event_seq)
    SELECT task_id, idx, phase, name, agent, agent_version, status, confidence, started_at, ended_at, span_id, run_id, note,
           event_seq FROM steps;
DROP TABLE steps;
CREATE VIEW steps AS
    SELECT s.task_id, s.idx, s.phase, s.name, s.agent, s.agent_version, s.status,
           coalesce(json_extract(e.payload, '$.outputs'), '{}') AS outputs,
           coalesce(json_extract(e.payload, '$.evidence'), '[]') AS evidence, s.confidence,
           coalesce(json_extract(e.payload, '$.cost'), '{}') AS cost, s.started_at, s.ended_at, s.span_id, s.run_id, s.note,
           s.event_seq
    FROM step_rows s LEFT JOIN events e ON e.seq = s.event_seq;
"""))

_j = _json.dumps


def _id(event: Event) -> str:
    return event.entity.split(":", 1)[1]


def _sync_cursor(conn: sqlite3.Connection, task_id: str) -> None:
    """``queue.cursor`` (the next step) from the checkpoints, refreshed when a task changes state, not per step."""
    conn.execute("UPDATE queue SET cursor=(SELECT coalesce(max(idx) + 1, 0) FROM step_rows WHERE task_id=? AND phase='do')"
                 " WHERE id=?", (task_id, task_id))


# -- runs ----------------------------------------------------------------------------------


@orchestrator.projector("run.submitted", "run.rejected")
def _run_submitted(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    rejected = event.type == "run.rejected"
    status = "failed" if rejected else "pending"
    conn.execute(
        "INSERT INTO runs(id, workflow, version, params, idempotency_key, mode, allow_effects, status, priority, goal,"
        " parent_run_id, from_step, error, created_at, updated_at, finished_at, event_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (_id(event), p["workflow"], p.get("version", 1), _j(p.get("params", {})), p.get("idempotency_key"),
         p.get("mode", "live"), int(p.get("allow_effects", True)), status, p.get("priority", 0), p.get("goal"),
         p.get("parent_run_id"), p.get("from_step"), p.get("error"), event.at, event.at,
         event.at if rejected else None, event.seq),
    )


@orchestrator.projector("run.status")
def _run_status(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    status = p["status"]
    finished = event.at if status in TERMINAL else None
    conn.execute("UPDATE runs SET status=?, error=?, updated_at=?, finished_at=?, event_seq=? WHERE id=?",
                 (status, p.get("error"), event.at, finished, event.seq, _id(event)))


@orchestrator.projector("run.allowance")
def _run_allowance(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute("UPDATE runs SET allowance=?, updated_at=?, event_seq=? WHERE id=?",
                 (_j(event.payload["allowance"]), event.at, event.seq, _id(event)))


# -- tasks (the queue's state machine) -------------------------------------------------------


@orchestrator.projector("task.enqueued")
def _task_enqueued(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute(
        "INSERT INTO queue(id, run_id, parent_id, name, template, item, agent, connectors, status, priority, not_before,"
        " max_attempts, created_at, updated_at, event_seq) VALUES (?,?,?,?,?,?,?,?,'pending',?,?,?,?,?,?)",
        (_id(event), p["run_id"], p.get("parent_id"), p["name"], p["template"], _j(p.get("item")), p["agent"],
         _j(p.get("connectors", [])), p.get("priority", 0), p.get("not_before", 0.0), p["max_attempts"],
         event.at, event.at, event.seq),
    )


@orchestrator.projector("task.leased")
def _task_leased(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute("UPDATE queue SET status='leased', owner=?, lease_until=?, leases=leases+1, updated_at=?, event_seq=? WHERE id=?",
                 (p["owner"], p["lease_until"], event.at, event.seq, _id(event)))


@orchestrator.projector("task.started")
def _task_started(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute("UPDATE queue SET status='running', updated_at=?, event_seq=? WHERE id=?", (event.at, event.seq, _id(event)))


@orchestrator.projector("task.waiting")
def _task_waiting(conn: sqlite3.Connection, event: Event) -> None:
    # The reason it waits (an approval, a budget) shows where errors show, until it resumes.
    conn.execute("UPDATE queue SET status='waiting_approval', approval_id=?, error=?, owner=NULL, lease_until=NULL,"
                 " updated_at=?, event_seq=? WHERE id=?",
                 (event.payload["approval_id"], event.payload.get("reason"), event.at, event.seq, _id(event)))
    conn.execute("DELETE FROM heartbeats WHERE task_id=?", (_id(event),))
    _sync_cursor(conn, _id(event))


@orchestrator.projector("task.resumed", "task.lease_expired")
def _task_back_to_pending(conn: sqlite3.Connection, event: Event) -> None:
    clear = ", error=NULL" if event.type == "task.resumed" else ""
    conn.execute(f"UPDATE queue SET status='pending', owner=NULL, lease_until=NULL, not_before=0{clear}, updated_at=?,"
                 " event_seq=? WHERE id=?", (event.at, event.seq, _id(event)))
    conn.execute("DELETE FROM heartbeats WHERE task_id=?", (_id(event),))
    _sync_cursor(conn, _id(event))


@orchestrator.projector("task.retry_scheduled")
def _task_retry(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute("UPDATE queue SET status='pending', owner=NULL, lease_until=NULL, attempts=attempts+1, not_before=?,"
                 " error=?, error_type=?, updated_at=?, event_seq=? WHERE id=?",
                 (p["not_before"], p["error"], p["error_type"], event.at, event.seq, _id(event)))
    conn.execute("DELETE FROM heartbeats WHERE task_id=?", (_id(event),))
    _sync_cursor(conn, _id(event))


@orchestrator.projector("task.finished")
def _task_finished(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute("UPDATE queue SET status=?, owner=NULL, lease_until=NULL, error=?, error_type=?, dead_letter=?,"
                 " attempts=attempts+?, updated_at=?, event_seq=? WHERE id=?",
                 (p["status"], p.get("error"), p.get("error_type"), int(p.get("dead_letter", False)),
                  int(p.get("failed_attempt", False)), event.at, event.seq, _id(event)))
    conn.execute("DELETE FROM heartbeats WHERE task_id=?", (_id(event),))
    _sync_cursor(conn, _id(event))


@orchestrator.projector("task.requeued")
def _task_requeued(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute("UPDATE queue SET status='pending', attempts=0, dead_letter=0, error=NULL, error_type=NULL, cursor=0,"
                 " generation=generation+1, not_before=0, updated_at=?, event_seq=? WHERE id=?", (event.at, event.seq, _id(event)))
    conn.execute("DELETE FROM step_rows WHERE task_id=?", (_id(event),))


# -- steps (checkpoints) ---------------------------------------------------------------------


@orchestrator.projector("step.completed", "step.compensated")
def _step_done(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    task_id = _id(event)
    owner = p.get("owner")
    phase = "undo" if event.type == "step.compensated" else "do"
    # Outputs, evidence and cost stay in the event only (the ``steps`` view reads them from it).
    # Only the worker holding the lease may checkpoint (a slow worker whose lease was taken over must not
    # overwrite the new owner's progress): the row is written only if the queue row says so, checked in the
    # same statement, and raising below rolls the event back.
    cur = conn.execute(
        "INSERT OR REPLACE INTO step_rows(task_id, idx, phase, name, agent, agent_version, status, confidence, started_at,"
        " ended_at, span_id, run_id, note, event_seq) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14"
        " WHERE ?15 IS NULL OR EXISTS (SELECT 1 FROM queue WHERE id=?1 AND owner=?15 AND status='running')",
        (task_id, p["idx"], phase, p["name"], p.get("agent"), p.get("version"), p["status"], p.get("confidence"),
         p.get("started_at"), event.at, p.get("span_id"), p.get("run_id"), p.get("note"), event.seq, owner),
    )
    if cur.rowcount != 1:
        from .._errors import LeaseLostError

        raise LeaseLostError.of(task_id, conn.execute("SELECT owner, status FROM queue WHERE id=?", (task_id,)).fetchone())


# -- the outbox --------------------------------------------------------------------------------


@orchestrator.projector("effect.intended", "effect.simulated")
def _effect_intended(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    status = "simulated" if event.type == "effect.simulated" else "intended"
    conn.execute(
        "INSERT INTO outbox(key, run_id, task_id, step, connector, action, payload, status, created_at, event_seq)"
        " VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET payload=excluded.payload, status=excluded.status,"
        " error=NULL, event_seq=excluded.event_seq",
        (p["key"], p["run_id"], p["task_id"], p["step"], p["connector"], p["action"], _j(p["payload"]), status, event.at, event.seq),
    )


@orchestrator.projector("effect.applied", "effect.failed", "effect.unknown")
def _effect_outcome(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    status = {"effect.applied": "applied", "effect.failed": "failed", "effect.unknown": "unknown"}[event.type]
    result = p.get("result") if status != "unknown" else {"hint": p.get("hint") or ""}
    conn.execute("UPDATE outbox SET status=?, result=?, error=?, reconciled=?, applied_at=?, event_seq=? WHERE key=?",
                 (status, _j(result), p.get("error"), int(p.get("reconciled", False)),
                  event.at if status == "applied" else None, event.seq, p["key"]))


# -- reactions to other layers' events -----------------------------------------------------


@orchestrator.reaction("approval.decided")
def _carry_on_after_a_decision(store: Any, event: Event) -> None:
    """A decision puts the task that waited on it back in the queue, in the decision's transaction.

    "Continue" at a budget also raises the run's allowance by one budget's
    worth. The next worker to look (the kernel's, ``aios resume``, a headless
    run) carries the run on.
    """
    from .._policy import ApprovalBook, extend
    from ._broker import Broker

    approval = ApprovalBook(store).get(_id(event))
    decision = event.payload.get("choice") or event.payload["decision"]
    if approval.kind == "budget" and decision == "continue":
        row = store.one("SELECT allowance FROM runs WHERE id=?", (approval.run_id,))
        allowance = extend(_json.loads(row["allowance"]) if row else {}, approval.payload.get("breaches", []))
        store.emit("run.allowance", f"run:{approval.run_id}", {"allowance": allowance, "approval_id": approval.id},
                   actor=event.actor, correlation_id=approval.run_id)
    Broker(store).resume(approval.task_id, approval_id=approval.id, decision=decision, actor=event.actor)
