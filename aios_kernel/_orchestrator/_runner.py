"""Running one task: its steps in order, a checkpoint after each.

For each step from the task's cursor: evaluate the guard, check budgets
(for steps that call models), resolve the inputs, call the agent, and record
the result as the step's checkpoint (``step.completed``: one event and one
row, in one transaction, refused if this worker lost its lease; a heartbeat
thread renews the lease meanwhile). An action step goes through policy: automatic
ones go through the outbox at once; others raise an approval and the task
waits. A resumed task starts at its cursor, so finished steps are never
redone. When a step fails for good, the completed steps' compensations run
in reverse (the saga) and are recorded, and the task ends ``compensated``
(or ``failed`` when there was nothing to undo).
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import traceback
from dataclasses import dataclass
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .. import _agents
from .._errors import LeaseLostError, OutcomeUnknown, StateError, WorkflowError
from .._evidence import flag_names, flagged
from .._ids import iso, iso_at, new_id
from .._store import Store, _json
from . import _retry
from ._refs import guard, lookup, resolve
from ._registry import get_workflow
from ._runs import run_row
from ._workflow import Step, Workflow

SERVICE = "service:"
"""A step whose ``agent`` starts so runs a workspace operation of the orchestrator's (e.g. ``service:mail.sync``)."""

if TYPE_CHECKING:
    from .._policy import ApprovalBook, Policy
    from ._broker import Broker
    from ._outbox import Outbox


@dataclass(frozen=True)
class RunnerSettings:
    """Timing of leases and retries (``[orchestrator]`` in aios.toml)."""

    heartbeat_s: float = 10.0
    lease_s: float = 60.0
    backoff_base_s: float = 0.2
    backoff_max_s: float = 30.0

    @classmethod
    def from_config(cls, config: Any, *, lease_s: float) -> RunnerSettings:
        o = config.get("orchestrator") or {}
        return cls(float(o.get("heartbeat_s", 10.0)), lease_s, float(o.get("backoff_base_s", 0.2)),
                   float(o.get("backoff_max_s", 30.0)))


class _Wait(Exception):
    """The task now waits for an approval."""


class _Stop(Exception):
    """A person said no (rejected, or "stop" at a budget): the task is cancelled."""


@dataclass
class _Task:
    row: dict[str, Any]
    run: dict[str, Any]
    wf: Workflow
    steps: list[Step]
    scope: dict[str, Any]
    live: bool

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def run_id(self) -> str:
        return self.row["run_id"]


class TaskRunner:
    """Executes leased tasks: the broker's state machine, the policy, the outbox and the agents, for one worker."""

    def __init__(self, store: Store, *, broker: Broker, outbox: Outbox, approvals: ApprovalBook, policy: Policy,
                 agents: _agents.AgentEnv, owner: str, settings: RunnerSettings, rng: random.Random | None = None,
                 services: Mapping[str, Callable[..., dict[str, Any]]] | None = None) -> None:
        self.store = store
        self.broker = broker
        self.outbox = outbox
        self.approvals = approvals
        self.policy = policy
        self.agents = agents
        self.owner = owner
        self.settings = settings
        self.rng = rng or random.Random()
        self.services = dict(services or {})
        """Workspace operations a step may run (``agent="service:NAME"``): they write records, agents never do."""
        self._beat: _Heartbeat | None = None

    # -- one task -------------------------------------------------------------------------------

    def execute(self, row: dict[str, Any]) -> str:
        """Run a leased task until it finishes, waits, or is scheduled for a retry; returns which."""
        try:
            t = self._load(row)
        except Exception as exc:  # the workflow vanished or its run is unreadable: fail the task, keep the rest
            self.broker.finish(row, "failed", owner=self.owner, error=f"cannot load the task: {exc}",
                                    error_type=_retry.classify(exc), actor=f"worker:{self.owner}")
            return "failed"
        self.broker.start(row, self.owner)
        beat = self._heartbeat()
        beat.watch(t.id)
        try:
            return self._steps(t)
        except StateError:
            return "lost"  # the task changed state under this worker: its new owner goes on from the last checkpoint
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                self.broker.release(row, owner=self.owner, reason=f"worker interrupted ({type(exc).__name__})")
            raise
        finally:
            beat.watch(None)

    def _heartbeat(self) -> _Heartbeat:
        if self._beat is None:
            self._beat = _Heartbeat(self.store.path, self.owner, self.settings.heartbeat_s, self.settings.lease_s)
            self._beat.start()
        return self._beat

    def close(self) -> None:
        if self._beat is not None:
            self._beat.stop()
            self._beat = None

    def _load(self, row: dict[str, Any]) -> _Task:
        run = run_row(self.store, row["run_id"])
        wf = get_workflow(run["workflow"])
        if run.get("version") not in (None, wf.version):  # its checkpoints are indexed by the old version's steps
            raise WorkflowError(f"run {run['id']} was started by version {run['version']} of {wf.name}; this workbench "
                                f"has version {wf.version}, whose steps differ, so it cannot go on: start the workflow "
                                "again", field="version")
        steps = wf.steps_of(row["template"])
        scope: dict[str, Any] = {"params": run["params"], "item": row["item"]}
        for r in self.store.query("SELECT idx, outputs FROM steps WHERE task_id=? AND phase='do' ORDER BY idx", (row["id"],)):
            if r["idx"] < len(steps):
                scope[steps[r["idx"]].name] = _json.loads(r["outputs"])
        live = run["mode"] != "simulate" and bool(run["allow_effects"])
        row["cursor"] = int(self.store.scalar("SELECT coalesce(max(idx) + 1, 0) FROM step_rows WHERE task_id=? AND phase='do'",
                                              (row["id"],)))
        return _Task(row, run, wf, steps, scope, live)

    def _steps(self, t: _Task) -> str:
        idx = int(t.row["cursor"])
        while idx < len(t.steps):
            step = t.steps[idx]
            try:
                self._step(t, idx, step)
            except _Wait:
                return "waiting"
            except _Stop as stop:
                self._settle_after_failure(t, idx, str(stop), "cancelled", error_type="decision", dead=False)
                return "cancelled"
            except StateError as exc:
                if isinstance(exc, LeaseLostError) or isinstance(exc.__cause__, LeaseLostError):
                    raise
                return self._failed(t, idx, step, exc)
            except Exception as exc:
                return self._failed(t, idx, step, exc)
            idx += 1
        return self._finish(t)

    # -- one step -------------------------------------------------------------------------------

    def _step(self, t: _Task, idx: int, step: Step) -> None:
        started, cpu0 = time.time(), time.process_time()
        span_id = new_id("sp")
        service = step.agent[len(SERVICE):] if step.agent.startswith(SERVICE) else None
        if not guard(step.when, t.scope, step=step.name):
            self._checkpoint(t, idx, step, None if service else _agents.get(step.agent), status="skipped", outputs={},
                             started=started, cpu0=cpu0, span_id=span_id, note=f"skipped: {step.when} is false")
            return
        if service is not None:
            if service not in self.services:
                raise WorkflowError(f"step {step.name!r}: no service {service!r} here (services: "
                                    f"{', '.join(sorted(self.services)) or 'none'})", step=step.name)
            if not t.live:  # a simulation or a replay reads nothing new: it writes no records
                self._checkpoint(t, idx, step, None, status="skipped", outputs={}, started=started, cpu0=cpu0,
                                 span_id=span_id, note=f"{service} is not run in a {t.run['mode']} run")
                return
            outputs = self.services[service](**resolve(dict(step.inputs), t.scope, self.store, step=step.name))
            self._checkpoint(t, idx, step, None, status="succeeded", outputs=outputs, started=started, cpu0=cpu0,
                             span_id=span_id, note=str(outputs.get("note") or f"{service} done"))
            return
        agent = _agents.get(step.agent)
        if agent.uses_models:
            self._budget_gate(t, step, agent)
        if step.action:
            asked = self._decision_for(t, step, kind="effect")
            if asked is not None:
                self._settle_unknown(t, idx, step, agent, asked, started, cpu0, span_id)
                return
            decided = self._decision_for(t, step)
            if decided is not None:
                self._apply_decision(t, idx, step, agent, decided, started, cpu0, span_id)
                return
        inputs = resolve(dict(step.inputs), t.scope, self.store, step=step.name)
        _agents.check_types(agent, inputs, "input")
        ctx = self._context(t, step, agent, span_id)
        result = agent.run(ctx, **inputs)
        if not isinstance(result, _agents.AgentResult):
            raise WorkflowError(f"agent {agent.ident} returned {type(result).__name__}, not an AgentResult", step=step.name)
        _agents.check_types(agent, result.outputs, "output")
        if ctx.cost.calls and result.cost is not ctx.cost:
            # model calls made through the context are this step's cost, whatever the agent reported
            total = _agents.Cost()
            total.add(ctx.cost)
            total.add(result.cost)
            result.cost = total
        if step.action:
            self._action(t, idx, step, agent, result, ctx, started, cpu0, span_id)
            return
        self._checkpoint(t, idx, step, agent, status="succeeded", outputs=result.outputs, started=started, cpu0=cpu0,
                         span_id=span_id, evidence=[e.to_json() for e in result.evidence], confidence=result.confidence,
                         cost=result.cost.to_json(), note=result.note)

    def _context(self, t: _Task, step: Step, agent: Any, span_id: str) -> _agents.AgentContext:
        return _agents.AgentContext(self.agents, t.run_id, t.id, step.name, span_id, t.wf.name, t.run["mode"], agent.name,
                                    agent.version, t.run["params"])

    def _checkpoint(self, t: _Task, idx: int, step: Step, agent: Any, *, status: str, outputs: dict[str, Any],
                    started: float, cpu0: float, span_id: str, evidence: list[dict[str, Any]] | None = None,
                    confidence: float | None = None, cost: dict[str, Any] | None = None, note: str = "") -> None:
        cost = dict(cost or {})
        cost["cpu_s"] = round(max(cost.get("cpu_s", 0.0), time.process_time() - cpu0), 6)
        payload = {"run_id": t.run_id, "idx": idx, "name": step.name, "agent": agent.name if agent else step.agent,
                   "version": agent.version if agent else None, "status": status, "outputs": outputs,
                   "evidence": evidence or [], "confidence": confidence, "cost": cost, "started_at": iso_at(started),
                   "span_id": span_id, "owner": self.owner, "note": note or None}
        # One transaction per step: the event, its checkpoint row, the renewed lease (the projector checks ownership).
        self.store.emit("step.completed", f"queue:{t.id}", payload, actor=f"agent:{payload['agent']}@{payload['version']}",
                        correlation_id=t.run_id)
        t.scope[step.name] = outputs

    def _check_owner(self, conn: sqlite3.Connection, t: _Task) -> None:
        row = conn.execute("SELECT owner, status FROM queue WHERE id=?", (t.id,)).fetchone()
        if row is None or row[0] != self.owner or row[1] != "running":
            raise LeaseLostError.of(t.id, row)

    # -- budgets ----------------------------------------------------------------------------------

    def _budget_gate(self, t: _Task, step: Step, agent: Any) -> None:
        decided = self._decision_for(t, step, kind="budget")
        if decided is not None and decided.choice == "stop":
            raise _Stop(f"stopped at the budget approval {decided.id} before step {step.name!r}")
        allowance = run_row(self.store, t.run_id)["allowance"]
        breaches = self.policy.breaches(self.store, run_id=t.run_id, workflow=t.wf.name, allowance=allowance)
        if not breaches:
            return
        if not t.live:
            return  # simulations spend only the template tier's nothing; they never wait
        spent = self.policy.spent(self.store, run_id=t.run_id).to_json()
        reason = "; ".join(b.describe() for b in breaches)
        with self.store.atomic() as conn:
            self._check_owner(conn, t)
            approval_id = self.approvals.request(
                run_id=t.run_id, task_id=t.id, step=step.name, kind="budget",
                title=f"Budget reached in {t.wf.name} before {step.name!r}: continue or stop?",
                payload={"breaches": [b.to_json() for b in breaches], "next_step": step.name, "agent": agent.ident},
                why={"agent": agent.ident, "policy": {"reasons": [reason], "mode": "review"}},
                cost={"run": spent, "day": self.policy.spent(self.store).to_json()},
                options=[{"id": "continue", "label": "Continue (one more budget's worth)"},
                         {"id": "stop", "label": "Stop the run here"}])
            self.broker.wait(t.row, owner=self.owner, approval_id=approval_id, reason=f"paused: {reason}")
        raise _Wait()

    # -- actions ------------------------------------------------------------------------------------

    def _effect_key(self, t: _Task, step: Step) -> str:
        base = t.run["idempotency_key"] or t.run_id
        gen = f"#{t.row['generation']}" if t.row.get("generation") else ""
        return f"{base}/{t.row['name']}/{step.name}{gen}"

    def _action(self, t: _Task, idx: int, step: Step, agent: Any, result: Any, ctx: Any, started: float, cpu0: float,
                span_id: str) -> None:
        out = result.outputs
        payload = out.get("payload")
        if not isinstance(payload, dict):
            raise WorkflowError(f"step {step.name!r}: agent {agent.ident} must output the action 'payload' as a dict",
                                step=step.name, field="payload")
        key = self._effect_key(t, step)
        evidence = [e.to_json() for e in result.evidence]
        # Flagged outside content is shown to the reviewer as evidence, and never acted on automatically.
        untrusted = bool(out.get("flagged")) or flagged(evidence)
        covered = None
        if step.covered_by and (t.scope.get(step.covered_by) or {}).get("approved_by"):
            covered = step.covered_by
        decision = self.policy.decide(step.action or "", confidence=result.confidence, untrusted=untrusted,
                                      forced=step.approval, covered_by=covered,
                                      flags=tuple(flag_names(evidence)) or tuple(out.get("flags") or ()))
        why = {"agent": agent.ident, "confidence": round(result.confidence, 3), "policy": decision.to_json(),
               "note": result.note, "key": key, "connector": step.connector, "drafted_by": out.get("drafted_by")}
        common = dict(run_id=t.run_id, task_id=t.id, step=step.name, parent_span=span_id)
        if not t.live:
            receipt = self.outbox.simulate(key=key, connector=step.connector, action=step.action or "", payload=payload,
                                                **common)
            self._checkpoint(t, idx, step, agent, status="succeeded", started=started, cpu0=cpu0, span_id=span_id,
                             outputs={"effect_key": key, "simulated": True, "receipt": receipt, "payload": payload,
                                      "policy": decision.mode},
                             evidence=evidence, confidence=result.confidence, cost=result.cost.to_json(),
                             note=f"simulated {step.action} (a live run would {'do it' if decision.automatic else 'ask first'})")
            return
        if decision.automatic:
            receipt = self._execute(t, step, key=key, payload=payload, **common)
            self._checkpoint(t, idx, step, agent, status="succeeded", started=started, cpu0=cpu0, span_id=span_id,
                             outputs={"effect_key": key, "receipt": receipt, "payload": payload, "policy": "auto"},
                             evidence=evidence, confidence=result.confidence, cost=result.cost.to_json(),
                             note=f"{step.action} done automatically ({'; '.join(decision.reasons)})")
            return
        options = out.get("options") or []
        if decision.mode == "options" and not options:
            options = [{"id": "do", "label": f"Do it: {step.action}"}, {"id": "skip", "label": "Skip it", "effect": False}]
        spent = self.policy.spent(self.store, run_id=t.run_id).to_json()
        with self.store.atomic() as conn:
            self._check_owner(conn, t)
            approval_id = self.approvals.request(
                run_id=t.run_id, task_id=t.id, step=step.name, kind="action", action=step.action,
                title=str(out.get("title") or f"{step.action} ({t.row['name']})"), payload=payload, why=why,
                evidence=evidence, cost={"run": spent, "step": result.cost.to_json()}, options=options)
            self.broker.wait(t.row, owner=self.owner, approval_id=approval_id,
                                  reason=f"waiting for approval of {step.action}: {'; '.join(decision.reasons)}")
        raise _Wait()

    def _decision_for(self, t: _Task, step: Step, kind: str = "action") -> Any:
        """The decided approval this task waited on for ``step``, if that is why it resumed."""
        approval_id = t.row.get("approval_id")
        if not approval_id:
            return None
        a = self.approvals.get(approval_id)
        if a.step != step.name or a.kind != kind or a.is_open:
            return None
        return a

    def _apply_decision(self, t: _Task, idx: int, step: Step, agent: Any, a: Any, started: float, cpu0: float,
                        span_id: str) -> None:
        option = next((o for o in a.options if o["id"] == a.choice), None) if a.choice else None
        if option is not None and option.get("effect") is False and option.get("continue"):
            # an option that leaves this step's effect out and lets the task go on (e.g. reply without a hold)
            self._checkpoint(t, idx, step, agent, status="skipped", outputs={"approval": a.id, "decision": a.choice},
                             started=started, cpu0=cpu0, span_id=span_id,
                             note=f"{step.action} left out: {a.decided_by} chose {a.choice}")
            return
        if a.status == "rejected" or (option is not None and option.get("effect") is False):
            why = a.reason or (f"chose {a.choice!r}" if option else "rejected")
            self._checkpoint(t, idx, step, agent, status="rejected", outputs={"approval": a.id, "decision": a.decision,
                                                                              "reason": why},
                             started=started, cpu0=cpu0, span_id=span_id, note=f"{step.action} not done: {a.decided_by} {why}")
            raise _Stop(f"{step.action} was not approved ({why}) by {a.decided_by}")
        payload = dict(option.get("payload") or a.payload) if option else dict(a.payload)
        payload.update(a.edits or {})
        key = a.why.get("key") or self._effect_key(t, step)
        receipt = self._execute(t, step, key=key, payload=payload, run_id=t.run_id, task_id=t.id, step=step.name,
                                parent_span=span_id, actor=f"operator:{a.decided_by}")
        self._checkpoint(t, idx, step, agent, status="succeeded", started=started, cpu0=cpu0, span_id=span_id,
                         outputs={"effect_key": key, "receipt": receipt, "payload": payload, "approved_by": a.id,
                                  "decision": a.decision, "edited": sorted(a.edits or {})},
                         evidence=a.evidence, confidence=a.why.get("confidence"),
                         note=f"{step.action} done after {a.decided_by} chose {a.decision}"
                              + (f" with edits to {', '.join(sorted(a.edits))}" if a.edits else ""))

    # -- effects whose outcome is unknown ---------------------------------------------------------

    def _execute(self, t: _Task, spec: Step, *, key: str, payload: dict[str, Any], again: bool = False,
                 **common: Any) -> dict[str, Any]:
        """The outbox's execute; an outcome nobody can know becomes a question to the operator, and the task waits."""
        try:
            return self.outbox.execute(key=key, connector=spec.connector, action=spec.action or "", payload=payload,
                                       again=again, **common)
        except OutcomeUnknown as exc:
            self._ask(t, spec, key, payload, exc)
            raise _Wait() from None

    def _ask(self, t: _Task, step: Step, key: str, payload: dict[str, Any], exc: OutcomeUnknown) -> None:
        mail = step.action == "send_email"
        options = [{"id": "mark_sent", "label": "It arrived: record it as sent" if mail else "It happened: record it as done"},
                   {"id": "resend", "label": "It did not arrive: send it again" if mail else "It did not happen: do it again"},
                   {"id": "skip", "label": "Leave it: do not try again", "effect": False}]
        with self.store.atomic() as conn:
            self._check_owner(conn, t)
            approval_id = self.approvals.request(
                run_id=t.run_id, task_id=t.id, step=step.name, kind="effect", action=step.action,
                title=f"Did it happen? {step.action} ({t.row['name']}): the outcome is not known", payload=payload,
                why={"key": key, "connector": step.connector, "hint": exc.hint,
                     "policy": {"reasons": [str(exc)], "mode": "options"}},
                options=options)
            self.broker.wait(t.row, owner=self.owner, approval_id=approval_id,
                             reason=f"the outcome of {step.action} is unknown: {exc.hint or exc}")

    def _settle_unknown(self, t: _Task, idx: int, step: Step, agent: Any, a: Any, started: float, cpu0: float,
                        span_id: str) -> None:
        key = a.why["key"]
        common = dict(run_id=t.run_id, task_id=t.id, step=step.name, parent_span=span_id)
        if a.choice == "skip" or a.status == "rejected":
            self._checkpoint(t, idx, step, agent, status="rejected", started=started, cpu0=cpu0, span_id=span_id,
                             outputs={"approval": a.id, "decision": a.choice or a.decision, "effect_key": key},
                             note=f"{step.action} left undone: {a.decided_by} said so after its outcome was unknown")
            raise _Stop(f"{step.action} was left undone by {a.decided_by} (its outcome was unknown)")
        if a.choice == "resend":
            receipt = self._execute(t, step, key=key, payload=dict(a.payload), again=True, actor=f"operator:{a.decided_by}",
                                    **common)
        else:
            receipt = self.outbox.confirm(key, by=str(a.decided_by), run_id=t.run_id, parent_span=span_id)
        self._checkpoint(t, idx, step, agent, status="succeeded", started=started, cpu0=cpu0, span_id=span_id,
                         outputs={"effect_key": key, "receipt": receipt, "payload": dict(a.payload), "approved_by": a.id,
                                  "decision": a.choice},
                         note=f"{step.action}: {a.decided_by} chose {a.choice} after its outcome was unknown")

    # -- failure, sagas, the end --------------------------------------------------------------------

    def _failed(self, t: _Task, idx: int, step: Step, exc: Exception) -> str:
        error_type = _retry.classify(exc)
        attempt = int(t.row["attempts"]) + 1
        allowed = _retry.tries(error_type, int(t.row["max_attempts"]), step.retries)
        message = f"step {step.name!r} ({step.agent}) raised {type(exc).__name__}: {exc}"
        self.store.emit("step.failed", f"queue:{t.id}", {
            "run_id": t.run_id, "idx": idx, "name": step.name, "agent": step.agent, "error": message,
            "error_type": error_type, "attempt": attempt, "span_id": new_id("sp"), "started_at": iso(),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))[-2000:]},
            actor=f"worker:{self.owner}", correlation_id=t.run_id)
        if attempt < allowed:
            delay = _retry.backoff(attempt, base=self.settings.backoff_base_s, cap=self.settings.backoff_max_s, rng=self.rng)
            delay = max(delay, float(getattr(exc, "retry_after", None) or 0.0))  # the target's own word on when
            self.broker.retry_later(t.row, owner=self.owner, error=message, error_type=error_type, delay_s=delay)
            return "retry"
        spent_all = error_type != "invalid"
        hint = (f"; tried {attempt} time(s), it is dead-lettered: fix the cause, then wb.requeue({t.id!r})" if spent_all
                else "; not retried: the input or the workflow must change")
        return self._settle_after_failure(t, idx, message + hint, None, error_type=error_type, dead=spent_all)

    def _settle_after_failure(self, t: _Task, idx: int, message: str, status: str | None, *, error_type: str,
                              dead: bool) -> str:
        undone, problem = self._compensate(t, idx)
        if problem:
            message += f"; compensation failed: {problem}"
        final = status or ("compensated" if undone and not problem else "failed")
        self.broker.finish(t.row, final, owner=self.owner, error=message, error_type=error_type, dead_letter=dead,
                                failed_attempt=status is None, actor=f"worker:{self.owner}")
        return final

    def _compensate(self, t: _Task, failed_idx: int) -> tuple[int, str | None]:
        """Undo completed steps before ``failed_idx`` in reverse order; returns (how many, a problem or None)."""
        rows = self.store.query("SELECT idx, phase, status, outputs FROM steps WHERE task_id=? AND idx<? ORDER BY idx DESC",
                                (t.id, failed_idx))
        undone_already = {r["idx"] for r in rows if r["phase"] == "undo"}
        count = 0
        for r in rows:
            if r["phase"] != "do" or r["status"] != "succeeded" or r["idx"] in undone_already:
                continue
            step = t.steps[r["idx"]]
            if not step.compensate:
                continue
            outputs = _json.loads(r["outputs"])
            started, cpu0, span_id = time.time(), time.process_time(), new_id("sp")
            try:
                result = self._undo(t, step, outputs, span_id)
            except Exception as exc:
                return count, f"undoing step {step.name!r} ({step.compensate}) raised {type(exc).__name__}: {exc}"
            payload = {"run_id": t.run_id, "idx": r["idx"], "name": step.name, "agent": step.compensate, "version": None,
                       "status": "compensated", "outputs": result, "started_at": iso_at(started), "span_id": span_id,
                       "cost": {"cpu_s": round(time.process_time() - cpu0, 6)}, "owner": self.owner,
                       "note": f"compensated {step.name} with {step.compensate}"}
            self.store.emit("step.compensated", f"queue:{t.id}", payload, actor="saga", correlation_id=t.run_id)
            count += 1
        return count, None

    def _undo(self, t: _Task, step: Step, outputs: dict[str, Any], span_id: str) -> dict[str, Any]:
        comp = step.compensate or ""
        if comp.startswith("agent:"):
            agent = _agents.get(comp[6:])
            return agent.compensate(self._context(t, step, agent, span_id), outputs) or {}
        key = outputs.get("effect_key")
        if not key:
            return {"skipped": "the step recorded no effect to undo"}
        original = self.outbox.get(key)
        if original is None or original["status"] not in ("applied", "simulated"):
            return {"skipped": f"effect {key} was never applied"}
        payload = {"undo_of": key, "original_action": original["action"], "reason": "a later step failed"}
        for field_name in ("number", "invoice_number", "to", "subject"):
            if field_name in (original["payload"] or {}):
                payload[field_name] = original["payload"][field_name]
        common = dict(key=f"{key}:undo", connector=step.connector, action=comp, payload=payload, run_id=t.run_id,
                      task_id=t.id, step=step.name, parent_span=span_id, actor="saga")
        if original["status"] == "simulated" or not t.live:
            return {"effect_key": f"{key}:undo", "receipt": self.outbox.simulate(**common), "simulated": True}
        return {"effect_key": f"{key}:undo", "receipt": self.outbox.execute(**common)}

    def _finish(self, t: _Task) -> str:
        fe = t.wf.foreach if t.row["template"] == "main" else None
        with self.store.atomic() as conn:
            self._check_owner(conn, t)
            if fe is not None:
                items = lookup(t.scope, fe.items, step=f"foreach {fe.name}")
                if not isinstance(items, list):
                    raise WorkflowError(f"foreach {fe.name}: {fe.items} is {type(items).__name__}, not a list", field=fe.items)
                agent = fe.steps[0].agent
                connectors = sorted({s.connector for s in fe.steps if s.action})
                for n, item in enumerate(items):
                    if not isinstance(item, dict) or fe.key not in item:
                        raise WorkflowError(f"foreach {fe.name}: item {n} has no {fe.key!r} to name its task", field=fe.key)
                    self.broker.enqueue(run_id=t.run_id, name=f"{fe.name}:{item[fe.key]}", template=fe.name,
                                             agent=agent, item=item, connectors=connectors,
                                             priority=int(t.run["priority"]), parent_id=t.id)
            self.broker.finish(t.row, "succeeded", owner=self.owner, actor=f"worker:{self.owner}")
        return "succeeded"


class _Heartbeat:
    """Renews the lease of the task being run, from one thread with its own connection.

    One thread per runner, started on its first task: a thread per task would cost
    more than a short task itself on a busy machine.
    """

    def __init__(self, path: Any, owner: str, every_s: float, lease_s: float) -> None:
        self.path, self.owner = path, owner
        self.every_s, self.lease_s = max(0.05, every_s), lease_s
        self._task: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{owner}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def watch(self, task_id: str | None) -> None:
        self._task = task_id

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        conn = None
        try:
            while not self._stop.wait(self.every_s):
                task = self._task
                if task is None:
                    continue
                if conn is None:
                    conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
                try:
                    conn.execute("INSERT OR REPLACE INTO heartbeats(task_id, owner, until) VALUES (?,?,?)",
                                 (task, self.owner, time.time() + self.lease_s))
                except sqlite3.Error:
                    continue  # a busy store: the next beat tries again, the lease has slack
        finally:
            if conn is not None:
                conn.close()
