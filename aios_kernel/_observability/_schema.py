"""The ``observability`` component: ``spans``, projected from every layer's events.

Runs, tasks, failed tries, connector calls and model calls each leave a span:
trace id (the run), parent, start, end, status, agent and version, tokens,
CPU-seconds, cost, input and output references. The layers that emit those
events (orchestrator, models) know nothing of spans; this component projects
them. A step's span is read from its ``step.completed`` event (see
``_trace``), so a step still writes one event and one row.

========================  ==================================================
run.submitted/.rejected   the run's span
run.status                its status; the end of the span when the run ends or waits
task.*                    the task's span
step.failed               an error span under the task
effect.*                  a connector span, with the price of the call when it reached the target
model.called              a model span with tokens, CPU-seconds and cost
========================  ==================================================
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .._store import Event, Migration, _json, component

TERMINAL = ("succeeded", "failed", "compensated", "cancelled")

# IF NOT EXISTS: stores written before this component existed already have the table (the
# orchestrator created it then), with the same columns.
DDL = """
CREATE TABLE IF NOT EXISTS spans (
    id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, parent_id TEXT, kind TEXT NOT NULL, name TEXT NOT NULL,
    start_at TEXT NOT NULL, end_at TEXT, status TEXT NOT NULL, agent TEXT, agent_version TEXT, tier TEXT,
    tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,
    cpu_s REAL NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0,
    input_ref TEXT, output_ref TEXT, attrs TEXT NOT NULL DEFAULT '{}',
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX IF NOT EXISTS spans_trace ON spans(trace_id, start_at);
CREATE INDEX IF NOT EXISTS spans_kind ON spans(kind, start_at);
"""

observability = component("observability", tables=["spans"])
observability.add_migration(Migration(1, "spans", DDL))

_j = _json.dumps


def _id(event: Event) -> str:
    return event.entity.split(":", 1)[1]


def _span(conn: sqlite3.Connection, event: Event, span: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO spans(id, trace_id, parent_id, kind, name, start_at, end_at, status, agent, agent_version,"
        " tier, tokens_in, tokens_out, cpu_s, cost, input_ref, output_ref, attrs, event_seq)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (span["id"], span["trace_id"], span.get("parent_id"), span["kind"], span["name"], span.get("start_at") or event.at,
         span.get("end_at"), span.get("status", "ok"), span.get("agent"), span.get("agent_version"), span.get("tier"),
         int(span.get("tokens_in", 0)), int(span.get("tokens_out", 0)), float(span.get("cpu_s", 0.0)),
         float(span.get("cost", 0.0)), span.get("input_ref"), span.get("output_ref"), _j(span.get("attrs", {})), event.seq),
    )


def _end(conn: sqlite3.Connection, event: Event, span_id: str, status: str, attrs: dict[str, Any] | None = None) -> None:
    conn.execute("UPDATE spans SET end_at=?, status=?, event_seq=? WHERE id=?", (event.at, status, event.seq, span_id))
    if attrs:
        row = conn.execute("SELECT attrs FROM spans WHERE id=?", (span_id,)).fetchone()
        if row is not None:
            conn.execute("UPDATE spans SET attrs=? WHERE id=?", (_j({**_json.loads(row[0]), **attrs}), span_id))


def _mark(conn: sqlite3.Connection, event: Event, span_id: str, status: str, *, reopen: bool = False) -> None:
    reopened = ", end_at=NULL" if reopen else ""
    conn.execute(f"UPDATE spans SET status=?{reopened}, event_seq=? WHERE id=?", (status, event.seq, span_id))


# -- runs ----------------------------------------------------------------------------------


@observability.projector("run.submitted", "run.rejected")
def _run_submitted(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    rejected = event.type == "run.rejected"
    _span(conn, event, {"id": _id(event), "trace_id": _id(event), "kind": "run", "name": p["workflow"],
                        "status": "error" if rejected else "running", "end_at": event.at if rejected else None,
                        "attrs": {"mode": p.get("mode", "live"), **({"error": p["error"]} if rejected else {})}})


@observability.projector("run.status")
def _run_status(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    status = p["status"]
    if status in TERMINAL or status == "waiting_approval":
        span_status = {"succeeded": "ok", "waiting_approval": "waiting"}.get(status, "error" if status == "failed" else status)
        _end(conn, event, _id(event), span_status, {"error": p["error"]} if p.get("error") else None)
    else:
        _mark(conn, event, _id(event), "running", reopen=True)


# -- tasks ---------------------------------------------------------------------------------


@observability.projector("task.enqueued")
def _task_enqueued(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    _span(conn, event, {"id": _id(event), "trace_id": p["run_id"], "parent_id": p.get("parent_id") or p["run_id"],
                        "kind": "task", "name": p["name"], "status": "pending", "agent": p["agent"]})


@observability.projector("task.started")
def _task_started(conn: sqlite3.Connection, event: Event) -> None:
    _mark(conn, event, _id(event), "running")


@observability.projector("task.waiting")
def _task_waiting(conn: sqlite3.Connection, event: Event) -> None:
    _mark(conn, event, _id(event), "waiting")


@observability.projector("task.finished")
def _task_finished(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    span_status = {"succeeded": "ok", "failed": "error"}.get(p["status"], p["status"])
    _end(conn, event, _id(event), span_status, {"error": p["error"]} if p.get("error") else None)


@observability.projector("task.requeued")
def _task_requeued(conn: sqlite3.Connection, event: Event) -> None:
    _mark(conn, event, _id(event), "pending", reopen=True)


@observability.projector("step.failed")
def _step_failed(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    _span(conn, event, {"id": p["span_id"], "trace_id": p["run_id"], "parent_id": _id(event), "kind": "step",
                        "name": p["name"], "start_at": p.get("started_at"), "end_at": event.at, "status": "error",
                        "agent": p.get("agent"), "agent_version": p.get("version"),
                        "attrs": {"error": p["error"], "error_type": p["error_type"], "attempt": p.get("attempt")}})


# -- connector calls -----------------------------------------------------------------------


@observability.projector("effect.simulated")
def _effect_simulated(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    _span(conn, event, {"id": p["span_id"], "trace_id": p["run_id"], "parent_id": p.get("parent_span"), "kind": "connector",
                        "name": f"{p['connector']}.{p['action']}", "end_at": event.at, "status": "simulated",
                        "input_ref": f"outbox:{p['key']}", "attrs": {"key": p["key"]}})


@observability.projector("effect.applied", "effect.failed", "effect.unknown")
def _effect_outcome(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    # The outcome names only the key: what was called, for which run, is in the intent before it (same entity).
    intent = conn.execute("SELECT payload FROM events WHERE entity=? AND type='effect.intended' ORDER BY seq DESC LIMIT 1",
                          (event.entity,)).fetchone()
    if intent is None:
        return
    i = _json.loads(intent[0])
    status = {"effect.applied": "ok", "effect.failed": "error", "effect.unknown": "unknown"}[event.type]
    # ``called``: the call reached the connector's target (a reconciliation, an open circuit did not); ``cost`` its price
    called = bool(p.get("called", not p.get("reconciled")))
    _span(conn, event, {"id": p["span_id"], "trace_id": i["run_id"], "parent_id": p.get("parent_span"), "kind": "connector",
                        "name": f"{i['connector']}.{i['action']}", "start_at": p.get("started_at"), "end_at": event.at,
                        "status": status, "input_ref": f"outbox:{p['key']}", "cost": float(p.get("cost") or 0.0),
                        "attrs": {"key": p["key"], "connector": i["connector"], "reconciled": bool(p.get("reconciled")),
                                  "called": called, **({"error": p["error"]} if p.get("error") else {})}})


# -- model calls ---------------------------------------------------------------------------


@observability.projector("model.called")
def _model_called(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    _span(conn, event, {
        "id": p["span_id"], "trace_id": p.get("trace_id") or "adhoc", "parent_id": p.get("parent_span"), "kind": "model",
        "name": f"{p['tier']}:{p['purpose']}", "start_at": p.get("started_at"), "end_at": event.at,
        "status": "ok" if not p.get("fallback_reason") else "fallback", "agent": p.get("agent"),
        "agent_version": p.get("agent_version"), "tier": p["tier"], "tokens_in": p.get("tokens_in", 0),
        "tokens_out": p.get("tokens_out", 0), "cpu_s": p.get("cpu_s", 0.0), "cost": p.get("cost", 0.0),
        "input_ref": p.get("prompt_hash"),
        "attrs": {k: p[k] for k in ("model", "n", "cached", "fallback_reason", "wall_s", "workflow") if p.get(k) is not None},
    })
