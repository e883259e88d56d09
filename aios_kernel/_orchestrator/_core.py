"""The orchestrator: submit runs, run what is pending, resume after a crash.

``wb.orchestrator`` (and the shortcuts ``wb.submit``, ``wb.run``,
``wb.run_pending``, ``wb.resume``) is one of these. Any number of processes
and threads may run pending work on the same workspace at once, each with an
orchestrator of its own: leases keep them off each other's tasks, and the
outbox keeps their side effects single.

It is built from what it needs, not from the workbench: the store, the
settings and folders, the records, and the models and memory (made on first
use). The runner gets its own collaborators in turn (broker, outbox,
approvals, policy, the agents' environment).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from .._agents import AgentEnv
from .._agents._memory_seam import recall
from .._connectors import Connectors
from .._errors import AiosError, NotFoundError, ValidationError, WorkflowError
from .._ids import new_id
from .._policy import ApprovalBook, Policy
from .._store import _json
from ._broker import Broker
from ._history import History
from ._outbox import Outbox
from ._registry import get_workflow
from ._runner import RunnerSettings, TaskRunner
from ._runs import Run, RunList, run_row
from ._worker import new_worker_id

MODES = ("live", "simulate", "replay")

IN_PROCESS = threading.RLock()
"""One task at a time per process, whichever orchestrator runs it: the notebook's and the background
worker's never draft with the one local model at once (leases already keep other processes apart)."""


@dataclass
class ResumeReport:
    """What ``resume`` found and did."""

    reclaimed: list[str] = field(default_factory=list)
    reconciled: list[tuple[str, str]] = field(default_factory=list)
    tasks_run: int = 0
    seconds: float = 0.0
    runs: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"resumed in {self.seconds:.2f}s: {len(self.reclaimed)} task(s) taken back from dead workers, "
                 f"{len(self.reconciled)} pending effect(s) reconciled, {self.tasks_run} task run(s)"]
        lines += [f"  effect {k}: {what}" for k, what in self.reconciled]
        lines += [f"  run {rid}: {status}" for rid, status in self.runs.items()]
        return "\n".join(lines)


class Orchestrator:
    """Runs workflows on one workspace; see the module docstring."""

    def __init__(self, store: Any, config: Any, paths: Any, *, records: Any, models: Callable[[], Any],
                 memory: Callable[[], Any] | None = None, secrets: Any = None, inbound: Any = None) -> None:
        self.store = store
        self.config = config
        self.paths = paths
        self.records = records
        self.models = models
        """The model tiers, made on first use (``orch.models().generate(...)``)."""
        o = self.config.get("orchestrator") or {}
        conc = o.get("concurrency") or {}
        self.broker = Broker(self.store, lease_s=float(o.get("lease_s", 60.0)), max_attempts=int(o.get("max_attempts", 3)),
                             agent_limits=conc.get("agents"), connector_limits=conc.get("connectors"))
        self.max_wait_s = float(o.get("max_wait_s", 60.0))
        self.connectors = Connectors(self.config, paths, self.store, secrets, inbound)
        self.outbox = Outbox(self.store, self.connectors, memory)
        self.approvals = ApprovalBook(self.store)
        self.policy = Policy(self.config)
        self.history = History(self.store)
        self.agents = AgentEnv(store=self.store.reader(), config=self.config, records=records, models=models,
                               recall=partial(recall, self.config, memory, records), history=self.history,
                               busy=self._busy)
        self.owner = new_worker_id()
        self.rng = random.Random()
        self.runner = TaskRunner(self.store, broker=self.broker, outbox=self.outbox, approvals=self.approvals,
                                 policy=self.policy, agents=self.agents, owner=self.owner, rng=self.rng,
                                 settings=RunnerSettings.from_config(self.config, lease_s=self.broker.lease_s),
                                 services={"mail.sync": self._sync_mail})

    def _busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]] | None:
        """Busy times of the calendar connector named ``calendar``, for agents that propose meeting times (None:
        there is none)."""
        if "calendar" not in self.connectors.names() or not self.connectors.settings("calendar").get("enabled", True):
            return None
        return [(b.start, b.end) for b in self.connectors.calendar().busy(start, end)]

    # -- submitting --------------------------------------------------------------------------------

    def submit(self, workflow: str, params: dict[str, Any] | None = None, idempotency_key: str | None = None, *,
               mode: str = "live", priority: int | None = None, goal: str | None = None, allow_effects: bool = True,
               parent_run_id: str | None = None, from_step: str | None = None, actor: str = "operator") -> Run:
        """Queue a run of ``workflow``; the same ``idempotency_key`` always returns the same run.

        A bad submission (unknown workflow, invalid parameters) raises, and is
        also recorded as a failed run so the trace shows it.
        """
        if mode not in MODES:
            raise ValidationError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", field="mode")
        try:
            wf = get_workflow(workflow)
            clean = wf.validate_params(params)
        except AiosError as exc:
            run_id = new_id("run")
            safe_params = _plain(params)
            self.store.emit("run.rejected", f"run:{run_id}", {
                "workflow": str(workflow), "params": safe_params, "mode": mode, "goal": goal,
                "error": str(exc), "field": getattr(exc, "field", None)}, actor=actor, correlation_id=run_id)
            exc.run_id = run_id  # type: ignore[attr-defined]
            raise
        with self.store.atomic():
            if idempotency_key:
                row = self.store.one("SELECT id, workflow, params FROM runs WHERE idempotency_key=?", (idempotency_key,))
                if row is not None:
                    if row["workflow"] != wf.name or _json.loads(row["params"]) != clean:
                        raise ValidationError(
                            f"idempotency key {idempotency_key!r} was already used for run {row['id']} of {row['workflow']} "
                            "with other parameters; use a new key for a different run", field="idempotency_key")
                    return Run(self, row["id"])
            run_id = new_id("run")
            self.store.emit("run.submitted", f"run:{run_id}", {
                "workflow": wf.name, "version": wf.version, "params": clean, "idempotency_key": idempotency_key,
                "mode": mode, "allow_effects": bool(allow_effects) and mode != "simulate",
                "priority": wf.priority if priority is None else int(priority), "goal": goal,
                "parent_run_id": parent_run_id, "from_step": from_step}, actor=actor, correlation_id=run_id)
            self.broker.enqueue(run_id=run_id, name="main", template="main", agent=wf.steps[0].agent,
                                connectors=wf.connectors, priority=wf.priority if priority is None else int(priority))
        return Run(self, run_id)

    def run(self, workflow: str, params: dict[str, Any] | None = None, idempotency_key: str | None = None,
            **kwargs: Any) -> Run:
        """Submit and run until the run is done or waits for approval."""
        run = self.submit(workflow, params, idempotency_key, **kwargs)
        self.run_pending(run_id=run.id)
        return run

    # -- running -----------------------------------------------------------------------------------

    def run_pending(self, run_id: str | None = None, *, max_tasks: int | None = None, wait: bool = True,
                    stop: Callable[[], bool] = lambda: False) -> int:
        """Run due tasks (of one run, or all) until none is left; returns how many were run.

        With ``wait``, delayed tasks (retries after backoff) are waited for, up to
        ``[orchestrator] max_wait_s`` at a time, and so are tasks of ``run_id`` that
        another worker of this process holds (the background worker): when this
        returns, the run is done or waits for a person. ``stop`` is asked between tasks.
        """
        self.recover()
        done = self._run_due(run_id, max_tasks, wait, stop)
        deadline = time.monotonic() + self.max_wait_s
        while run_id is not None and wait and not stop() and time.monotonic() < deadline:
            counts = self.broker.counts(run_id)
            if not (counts.get("leased") or counts.get("running")):
                break
            with IN_PROCESS:  # the other worker's task ends before this lock is ours
                time.sleep(0.02)
            done += self._run_due(run_id, max_tasks, wait, stop)
        return done

    def _run_due(self, run_id: str | None, max_tasks: int | None, wait: bool, stop: Callable[[], bool]) -> int:
        done = 0
        idle_since = time.monotonic()
        while (max_tasks is None or done < max_tasks) and not stop():
            with IN_PROCESS:
                task = self.broker.lease(self.owner, run_id=run_id)
                if task is not None:
                    self.runner.execute(task)
            if task is None:
                due = self.broker.next_due(run_id)
                if not wait or due is None or time.monotonic() - idle_since > self.max_wait_s:
                    break
                time.sleep(min(max(due - time.time(), 0.02), 1.0))
                continue
            done += 1
            idle_since = time.monotonic()
        return done

    def recover(self) -> ResumeReport:
        """Take back tasks of dead workers and settle effects left pending by a crash."""
        report = ResumeReport()
        report.reclaimed = self.broker.reclaim()
        report.reconciled = self.outbox.reconcile()
        # A decision requeues its task in the same transaction (the reaction in ``_schema``); this only
        # repairs stores written by hand or by an older version.
        for task in self.broker.waiting():
            try:
                approval = self.approvals.get(task["approval_id"])
            except NotFoundError:
                continue
            if not approval.is_open:
                self.broker.resume(task["id"], approval_id=approval.id, decision=approval.choice or approval.decision or "",
                                   actor="system")
        return report

    def resume(self, *, run_id: str | None = None) -> ResumeReport:
        """Carry pending and approved work forward (safe to interrupt and call again)."""
        t0 = time.perf_counter()
        report = self.recover()
        report.tasks_run = self.run_pending(run_id=run_id)
        report.seconds = time.perf_counter() - t0
        touched = self.store.query("SELECT id, status FROM runs WHERE updated_at >= datetime('now', '-1 day') OR status NOT IN"
                                   " ('succeeded','failed','compensated','cancelled') ORDER BY created_at DESC LIMIT 50")
        report.runs = {r["id"]: r["status"] for r in touched}
        return report

    def requeue(self, task_id: str) -> None:
        """Retry a dead-lettered task from its first step (compensated effects are re-done under new keys)."""
        self.broker.requeue(task_id)

    def cancel(self, run_id: str, reason: str = "cancelled by the operator") -> Run:
        """Cancel a run's tasks that are not running; returns the run.

        A pending task ends ``cancelled`` at once. A task waiting for a decision is
        declined: its approval is rejected with ``reason`` (a budget approval is
        answered "stop"), and the task then settles as after any rejection, here and
        now: the compensations of its completed steps run in reverse, and it ends
        ``cancelled``. So cancelling a run that has issued an invoice and waits to
        send it voids the invoice, exactly once, through the outbox. The decision is
        durable: if this process dies before the task settles, ``aios resume`` settles it.
        A running task is not interrupted.
        """
        from ._broker import decode

        run = self.get_run(run_id)
        declined = False
        for row in self.store.query("SELECT * FROM queue WHERE run_id=? AND status IN ('pending','waiting_approval')",
                                    (run_id,)):
            task = decode(row)
            waiting = task["status"] == "waiting_approval" and task["approval_id"]
            approval = self.approvals.get(task["approval_id"]) if waiting else None
            if approval is not None and approval.is_open:
                approval.reject(reason)  # a budget approval: "stop"
                declined = True
            else:
                self.broker.finish(task, "cancelled", error=reason, error_type="cancelled", actor="operator")
        if declined:
            self.run_pending(run_id, wait=False)
        return run

    # -- services steps may run -------------------------------------------------------------------

    def _sync_mail(self, connector: str = "email", limit: int | None = None) -> dict[str, Any]:
        """``service:mail.sync``: the new mail of ``connector``'s inbox into the records, before a workflow reads them."""
        target = self.connectors.get(connector)
        if not hasattr(target, "sync"):
            return {"fetched": 0, "note": f"connector {connector!r} ({target.kind}) reads no mail: nothing synced"}
        report = target.sync(limit=limit, owner=self.owner)
        return {**report.to_json(), "note": f"{report.fetched} new message(s) from {report.mailbox}"}

    # -- reading -----------------------------------------------------------------------------------

    def run_row(self, run_id: str) -> dict[str, Any]:
        return run_row(self.store, run_id)

    def get_run(self, run_id: str) -> Run:
        self.run_row(run_id)
        return Run(self, run_id)

    def runs(self, *, limit: int = 20, status: str | None = None, workflow: str | None = None) -> RunList:
        clauses, params = [], []
        if status:
            clauses.append("status=?")
            params.append(status)
        if workflow:
            clauses.append("workflow=?")
            params.append(workflow)
        sql = ("SELECT id FROM runs" + (" WHERE " + " AND ".join(clauses) if clauses else "")
               + " ORDER BY created_at DESC, rowid DESC LIMIT ?")
        return RunList([Run(self, r["id"]) for r in self.store.query(sql, (*params, int(limit)))])

    def close(self) -> None:
        self.runner.close()
        self.connectors.close()


def _plain(value: Any) -> Any:
    """``value`` if it is plain JSON, else its repr (a rejected submission is still recorded)."""
    try:
        _json.dumps(value)
        return value
    except AiosError:
        return repr(value)


__all__ = ["Orchestrator", "ResumeReport", "WorkflowError"]
