"""The task broker: a persistent priority queue in the store.

Each task is a row of ``queue`` moved through its state machine by events::

    pending ──lease──▶ leased ──start──▶ running ──▶ succeeded | failed | compensated | cancelled
       ▲                  │                 │  └──▶ waiting_approval ──decision──▶ pending
       └──── lease expired / worker died ───┘  └──▶ pending (retry after backoff, ``not_before``)

Leasing happens in one ``BEGIN IMMEDIATE`` transaction, so two workers (threads
or processes) never lease the same task. A lease lasts ``lease_s`` and is
renewed by every checkpoint and by heartbeats; a task whose worker died (its
pid is gone, or its lease ran out) is leased again. Per-agent and
per-connector limits cap how many tasks of a kind run at once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from .._errors import LeaseLostError, NotFoundError, StateError
from .._ids import new_id
from .._store import Store, _json
from ._schema import TERMINAL
from ._worker import owner_alive

ALLOWED: dict[str, tuple[str, ...]] = {
    "task.leased": ("pending",),
    "task.started": ("leased", "running"),
    "task.waiting": ("running",),
    "task.resumed": ("waiting_approval",),
    "task.retry_scheduled": ("running", "leased"),
    "task.lease_expired": ("leased", "running"),
    "task.finished": ("running", "leased", "pending", "waiting_approval"),
    "task.requeued": ("failed", "compensated", "cancelled"),
}
"""Which states each transition may leave from; anything else is a StateError."""

STATES = ("pending", "leased", "running", "waiting_approval", "succeeded", "failed", "compensated", "cancelled")

MAX_LEASES = 25
"""A task whose worker died this many times is dead-lettered (it probably kills its worker)."""


def _entity(task_id: str) -> str:
    return f"queue:{task_id}"


class Broker:
    """Enqueue, lease, heartbeat and settle tasks; see the module docstring."""

    def __init__(self, store: Store, *, lease_s: float = 60.0, max_attempts: int = 3,
                 agent_limits: dict[str, int] | None = None, connector_limits: dict[str, int] | None = None) -> None:
        self.store = store
        self.lease_s = float(lease_s)
        self.max_attempts = int(max_attempts)
        self.agent_limits = {k: v for k, v in (agent_limits or {}).items() if v > 0}
        self.connector_limits = {k: v for k, v in (connector_limits or {}).items() if v > 0}

    # -- reading ---------------------------------------------------------------------------

    def get(self, task_id: str) -> dict[str, Any]:
        row = self.store.one("SELECT * FROM queue WHERE id=?", (task_id,))
        if row is None:
            raise NotFoundError(f"no task {task_id!r}; list a run's tasks with `wb.get_run(RUN).tasks`", id=task_id)
        return decode(row)

    def dead_letters(self) -> list[dict[str, Any]]:
        """Tasks whose retry budget is spent, newest first (requeue one with :meth:`requeue`)."""
        return [decode(r) for r in self.store.query("SELECT * FROM queue WHERE dead_letter=1 ORDER BY updated_at DESC")]

    def waiting(self) -> list[dict[str, Any]]:
        """Tasks waiting for a decision."""
        return [decode(r) for r in self.store.query("SELECT * FROM queue WHERE status='waiting_approval'")]

    def next_due(self, run_id: str | None = None) -> float | None:
        """When the earliest delayed pending task comes due (epoch seconds), or None."""
        sql = "SELECT min(not_before) FROM queue WHERE status='pending'" + (" AND run_id=?" if run_id else "")
        return self.store.scalar(sql, (run_id,) if run_id else ())

    def counts(self, run_id: str | None = None) -> dict[str, int]:
        sql = "SELECT status, count(*) FROM queue" + (" WHERE run_id=?" if run_id else "") + " GROUP BY status"
        return {r[0]: r[1] for r in self.store.query(sql, (run_id,) if run_id else ())}

    # -- writing ---------------------------------------------------------------------------

    def enqueue(self, *, run_id: str, name: str, template: str, agent: str, item: Any = None,
                connectors: Iterable[str] = (), priority: int = 0, delay_s: float = 0.0, parent_id: str | None = None,
                max_attempts: int | None = None, actor: str = "system") -> str:
        """Add a task (idempotent: a second enqueue of ``name`` in the same run returns the first)."""
        with self.store.atomic() as conn:
            existing = conn.execute("SELECT id FROM queue WHERE run_id=? AND name=?", (run_id, name)).fetchone()
            if existing is not None:
                return existing[0]
            task_id = new_id("tk")
            self.store.emit("task.enqueued", _entity(task_id), {
                "run_id": run_id, "name": name, "template": template, "agent": agent, "item": item,
                "connectors": sorted(set(connectors)), "priority": int(priority),
                "not_before": time.time() + delay_s if delay_s > 0 else 0.0, "parent_id": parent_id,
                "max_attempts": int(max_attempts or self.max_attempts),
            }, actor=actor, correlation_id=run_id)
            sync_run(self.store, run_id)
        return task_id

    def lease(self, owner: str, *, run_id: str | None = None, now: float | None = None) -> dict[str, Any] | None:
        """Lease the most urgent due task within the concurrency limits, or None."""
        now = time.time() if now is None else now
        with self.store.atomic() as conn:
            self._reclaim(conn, now)
            sql = ("SELECT * FROM queue WHERE status='pending' AND not_before<=?" + (" AND run_id=?" if run_id else "")
                   + " ORDER BY priority DESC, created_at, rowid LIMIT 64")
            rows = conn.execute(sql, (now, run_id) if run_id else (now,)).fetchall()
            if not rows:
                return None
            busy_agents, busy_connectors = self._busy(conn) if (self.agent_limits or self.connector_limits) else ({}, {})
            for row in rows:
                task = decode(row)
                if not self._fits(task, busy_agents, busy_connectors):
                    continue
                until = now + self.lease_s
                self.store.emit("task.leased", _entity(task["id"]), {"owner": owner, "lease_until": until,
                                                                    "attempt": task["attempts"] + 1},
                                actor=f"worker:{owner}", correlation_id=task["run_id"])
                task.update(status="leased", owner=owner, lease_until=until, leases=task["leases"] + 1)
                return task
        return None

    def start(self, task: dict[str, Any], owner: str) -> None:
        with self.store.atomic():
            self._transition(task["id"], "task.started", {}, owner=owner, actor=f"worker:{owner}")
            sync_run(self.store, task["run_id"])

    def heartbeat(self, task_id: str, owner: str) -> None:
        """Renew a lease (a plain write: liveness is not history)."""
        with self.store.atomic() as conn:
            conn.execute("INSERT OR REPLACE INTO heartbeats(task_id, owner, until) VALUES (?,?,?)",
                         (task_id, owner, time.time() + self.lease_s))

    def finish(self, task: dict[str, Any], status: str, *, owner: str | None = None, error: str | None = None,
               error_type: str | None = None, dead_letter: bool = False, failed_attempt: bool = False,
               actor: str = "system") -> None:
        """Settle a task in a terminal state (and the run's status with it)."""
        if status not in TERMINAL:
            raise StateError(f"{status!r} is not a terminal state; use one of {', '.join(TERMINAL)}", id=task["id"], state=status)
        with self.store.atomic():
            self._transition(task["id"], "task.finished", {"status": status, "error": error, "error_type": error_type,
                                                           "dead_letter": dead_letter, "failed_attempt": failed_attempt},
                             owner=owner, actor=actor)
            sync_run(self.store, task["run_id"])

    def retry_later(self, task: dict[str, Any], *, owner: str, error: str, error_type: str, delay_s: float) -> None:
        with self.store.atomic():
            self._transition(task["id"], "task.retry_scheduled", {"error": error, "error_type": error_type,
                                                                  "not_before": time.time() + delay_s, "delay_s": delay_s},
                             owner=owner, actor=f"worker:{owner}")
            sync_run(self.store, task["run_id"])

    def wait(self, task: dict[str, Any], *, owner: str, approval_id: str, reason: str) -> None:
        with self.store.atomic():
            self._transition(task["id"], "task.waiting", {"approval_id": approval_id, "reason": reason},
                             owner=owner, actor=f"worker:{owner}")
            sync_run(self.store, task["run_id"])

    def resume(self, task_id: str, *, approval_id: str, decision: str, actor: str = "operator") -> None:
        """Back to pending after the approval it waited on was decided."""
        with self.store.atomic():
            task = self.get(task_id)
            if task["status"] != "waiting_approval" or task["approval_id"] != approval_id:
                return  # already resumed (or waiting on another approval): deciding once is enough
            self._transition(task_id, "task.resumed", {"approval_id": approval_id, "decision": decision}, actor=actor)
            sync_run(self.store, task["run_id"])

    def release(self, task: dict[str, Any], *, owner: str, reason: str) -> None:
        """Give a lease back early (the worker was interrupted), so another can take it now."""
        with self.store.atomic():
            current = self.get(task["id"])
            if current["owner"] != owner or current["status"] not in ("leased", "running"):
                return
            self._transition(task["id"], "task.lease_expired", {"previous_owner": owner, "reason": reason},
                             owner=owner, actor=f"worker:{owner}")
            sync_run(self.store, task["run_id"])

    def requeue(self, task_id: str, *, actor: str = "operator") -> None:
        """Give a dead-lettered task a fresh retry budget; it starts again from its first step."""
        with self.store.atomic():
            task = self.get(task_id)
            if not task["dead_letter"]:
                raise StateError(f"task {task_id} is {task['status']}, not dead-lettered; only dead letters are requeued",
                                 id=task_id, state=task["status"])
            self._transition(task_id, "task.requeued", {}, actor=actor)
            sync_run(self.store, task["run_id"])

    def reclaim(self, now: float | None = None) -> list[str]:
        """Put tasks of dead or silent workers back to pending; returns their ids."""
        with self.store.atomic() as conn:
            return self._reclaim(conn, time.time() if now is None else now)

    # -- internals ---------------------------------------------------------------------------

    def _transition(self, task_id: str, event_type: str, payload: dict[str, Any], *, owner: str | None = None,
                    actor: str = "system") -> None:
        row = self.store.one("SELECT status, owner, run_id FROM queue WHERE id=?", (task_id,))
        if row is None:
            raise NotFoundError(f"no task {task_id!r}", id=task_id)
        if row["status"] not in ALLOWED[event_type]:
            raise StateError(f"task {task_id} is {row['status']}: cannot apply {event_type.split('.', 1)[1]} "
                             f"(allowed from {', '.join(ALLOWED[event_type])})", id=task_id, state=row["status"])
        if owner is not None and row["status"] in ("leased", "running") and row["owner"] != owner:
            raise LeaseLostError(task_id, row["status"], row["owner"])
        self.store.emit(event_type, _entity(task_id), payload, actor=actor, correlation_id=row["run_id"])

    def _reclaim(self, conn: sqlite3.Connection, now: float) -> list[str]:
        rows = conn.execute(
            "SELECT q.id, q.run_id, q.owner, q.lease_until, q.leases, h.until AS hb FROM queue q"
            " LEFT JOIN heartbeats h ON h.task_id = q.id AND h.owner = q.owner WHERE q.status IN ('leased', 'running')").fetchall()
        taken: list[str] = []
        for r in rows:
            alive = owner_alive(r["owner"])
            expired = max(r["lease_until"] or 0.0, r["hb"] or 0.0) < now
            if alive is True or (alive is None and not expired):
                continue
            why = "its worker process is gone" if alive is False else "its lease expired without a heartbeat"
            if r["leases"] >= MAX_LEASES:
                self.store.emit("task.finished", _entity(r["id"]), {
                    "status": "failed", "error": f"dead-lettered: its worker died {r['leases']} times while running it",
                    "error_type": "worker_died", "dead_letter": True}, actor="broker", correlation_id=r["run_id"])
            else:
                self.store.emit("task.lease_expired", _entity(r["id"]), {"previous_owner": r["owner"], "reason": why},
                                actor="broker", correlation_id=r["run_id"])
            sync_run(self.store, r["run_id"])
            taken.append(r["id"])
        return taken

    def _busy(self, conn: sqlite3.Connection) -> tuple[dict[str, int], dict[str, int]]:
        agents: dict[str, int] = {}
        connectors: dict[str, int] = {}
        for r in conn.execute("SELECT agent, connectors FROM queue WHERE status IN ('leased', 'running')"):
            agents[r[0]] = agents.get(r[0], 0) + 1
            for c in _json.loads(r[1]):
                connectors[c] = connectors.get(c, 0) + 1
        return agents, connectors

    def _fits(self, task: dict[str, Any], agents: dict[str, int], connectors: dict[str, int]) -> bool:
        limit = self.agent_limits.get(task["agent"])
        if limit is not None and agents.get(task["agent"], 0) >= limit:
            return False
        return all(connectors.get(c, 0) < self.connector_limits[c] for c in task["connectors"] if c in self.connector_limits)


def decode(row: sqlite3.Row) -> dict[str, Any]:
    """A queue row as a dict with its JSON columns parsed."""
    task = dict(row)
    task["item"] = _json.loads(task["item"])
    task["connectors"] = _json.loads(task["connectors"])
    return task


def run_status(counts: dict[str, int], started: bool) -> str:
    """A run's status from its tasks' states."""
    if not counts:
        return "pending"
    if counts.get("leased") or counts.get("running"):
        return "running"
    if counts.get("pending"):
        return "running" if started else "pending"
    if counts.get("waiting_approval"):
        return "waiting_approval"
    if set(counts) == {"succeeded"}:
        return "succeeded"
    for status in ("failed", "compensated", "cancelled"):
        if counts.get(status):
            return status
    return "succeeded"


_RUN_AND_STATES = "SELECT status, error, " + ", ".join(
    f"EXISTS(SELECT 1 FROM queue WHERE run_id=?1 AND status='{state}')" for state in STATES) + " FROM runs WHERE id=?1"
"""The run's row and which task states occur in it, in one statement (it runs on every task transition)."""


def sync_run(store: Store, run_id: str) -> str:
    """Recompute a run's status from its tasks and record it if it changed (call inside ``atomic``).

    Which states occur is probed with one index seek per state, not by counting
    the run's tasks: a run with thousands of tasks costs the same per transition.
    """
    run = store.one(_RUN_AND_STATES, (run_id,))
    if run is None:
        raise NotFoundError(f"no run {run_id!r}", id=run_id)
    present = {s: 1 for i, s in enumerate(STATES) if run[2 + i]}
    started = run["status"] != "pending" or any(s != "pending" for s in present)
    status = run_status(present, started)
    error = None
    if status in ("failed", "compensated", "cancelled"):
        first = store.one("SELECT name, error FROM queue WHERE run_id=? AND error IS NOT NULL"
                          " AND status IN ('failed','compensated','cancelled') ORDER BY updated_at LIMIT 1", (run_id,))
        error = f"task {first['name']}: {first['error']}" if first else None
    if status != run["status"] or error != run["error"]:
        counts = {r[0]: r[1] for r in store.query("SELECT status, count(*) FROM queue WHERE run_id=? GROUP BY status",
                                                    (run_id,))}
        store.emit("run.status", f"run:{run_id}", {"status": status, "error": error, "tasks": counts},
                   actor="broker", correlation_id=run_id)
    return status
