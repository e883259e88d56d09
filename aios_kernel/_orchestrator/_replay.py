"""Replay: time travel from a checkpoint, and history through a changed function.

- :func:`replay_run` starts a new run of the same workflow and parameters,
  copies the source run's checkpoints before ``from_step`` and runs the rest.
  Side effects are simulated (recorded as proposals, nothing sent) unless
  ``allow_side_effects`` is given explicitly.
- :func:`replay_steps` recomputes every recorded checkpoint of one step with
  a changed agent or function, from the same recorded inputs, and lists what
  would change. Nothing is written.
- :func:`replay_events` does the same for recorded events' payloads.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import ValidationError, WorkflowError
from .._ids import new_id
from .._store import _json
from ._refs import resolve
from ._registry import get_workflow

if TYPE_CHECKING:
    import polars as pl

    from ._core import Orchestrator
    from ._runs import Run


def replay_run(orch: Orchestrator, run_id: str, *, from_step: str | int | None = None,
               allow_side_effects: bool = False) -> Run:
    """A new run continuing ``run_id``'s main task from ``from_step`` (its checkpoints before it are reused)."""
    src = orch.run_row(run_id)
    wf = get_workflow(src["workflow"])
    names = [s.name for s in wf.steps]
    if from_step is None:
        idx = 0
    elif isinstance(from_step, int):
        idx = from_step
    elif from_step in names:
        idx = names.index(from_step)
    elif wf.foreach is not None and from_step == wf.foreach.name:
        idx = len(names)  # all main checkpoints reused: only the fan-out runs again
    else:
        raise ValidationError(f"run {run_id} ({wf.name}) has no step {from_step!r}; steps: {', '.join(names)}"
                              + (f", or {wf.foreach.name!r} for the fan-out" if wf.foreach else ""), field="from_step")
    if not 0 <= idx <= len(names):
        raise ValidationError(f"from_step {from_step} is out of range 0..{len(names)}", field="from_step")
    main = orch.store.one("SELECT id FROM queue WHERE run_id=? AND name='main'", (run_id,))
    done = {r["idx"]: r for r in orch.store.query(
        "SELECT * FROM steps WHERE task_id=? AND phase='do' AND idx<?", (main["id"], idx))} if main else {}
    missing = [names[i] for i in range(idx) if i not in done]
    if missing:
        raise WorkflowError(f"run {run_id} has no checkpoint of step(s) {', '.join(missing)}; replay from an earlier step",
                            run_id=run_id, step=missing[0])
    with orch.store.atomic():
        run = orch.submit(wf.name, src["params"], mode="replay", allow_effects=allow_side_effects, parent_run_id=run_id,
                          from_step=names[idx] if idx < len(names) else (wf.foreach.name if wf.foreach else "end"),
                          actor="operator")
        task = orch.store.one("SELECT id FROM queue WHERE run_id=? AND name='main'", (run.id,))
        for i in range(idx):
            r = done[i]
            orch.store.emit("step.completed", f"queue:{task['id']}", {
                "run_id": run.id, "idx": i, "name": r["name"], "agent": r["agent"], "version": r["agent_version"],
                "status": r["status"], "outputs": _json.loads(r["outputs"]), "evidence": _json.loads(r["evidence"]),
                "confidence": r["confidence"], "cost": {}, "started_at": r["started_at"], "span_id": new_id("sp"),
                "note": f"checkpoint reused from run {run_id}"}, actor="replay", correlation_id=run.id)
    orch.run_pending(run_id=run.id)
    return run


@dataclass
class Change:
    where: str
    path: str
    before: Any
    after: Any


@dataclass
class ReplayDiff:
    """What a changed function would change in recorded history."""

    title: str
    examined: int = 0
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len({c.where for c in self.changes})

    def frame(self) -> pl.DataFrame:
        import polars as pl

        return pl.DataFrame([{"where": c.where, "path": c.path, "before": json.dumps(c.before, default=str),
                              "after": json.dumps(c.after, default=str)} for c in self.changes],
                            schema={"where": pl.String, "path": pl.String, "before": pl.String, "after": pl.String})

    def __str__(self) -> str:
        head = f"{self.title}: {self.changed} of {self.examined} record(s) would change"
        return "\n".join([head, *(f"  {c.where} {c.path}: {c.before!r} → {c.after!r}" for c in self.changes[:50])])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{html.escape(c.where)}</code></td><td>{html.escape(c.path)}</td>"
                       f"<td style='color:#cf222e'>{html.escape(json.dumps(c.before, default=str))}</td>"
                       f"<td style='color:#1a7f37'>{html.escape(json.dumps(c.after, default=str))}</td></tr>"
                       for c in self.changes[:200])
        return (f"<b>{html.escape(self.title)}</b>: {self.changed} of {self.examined} record(s) would change"
                f"<table><tr><th>where</th><th>field</th><th>before</th><th>after</th></tr>{rows}</table>")


def diff(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf-level differences between two JSON-like values."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for k in sorted(set(before) | set(after), key=str):
            out += diff(before.get(k), after.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (a, b) in enumerate(zip(before, after, strict=True)) for d in diff(a, b, f"{path}[{i}]")]
    return [] if _json.dumps(before) == _json.dumps(after) else [(path or "(value)", before, after)]


def replay_steps(orch: Orchestrator, step: str, fn: Any, *, workflow: str | None = None) -> ReplayDiff:
    """Recompute each recorded checkpoint of ``step`` with ``fn`` (an Agent, or ``fn(**inputs) -> dict``)."""
    from .. import _agents

    sql = ("SELECT s.task_id, s.idx, s.outputs, q.run_id, q.name AS task, q.item, r.workflow, r.params FROM steps s"
           " JOIN queue q ON q.id = s.task_id JOIN runs r ON r.id = q.run_id WHERE s.name=? AND s.phase='do'"
           " AND s.status='succeeded'" + (" AND r.workflow=?" if workflow else "") + " ORDER BY s.event_seq")
    rows = orch.store.query(sql, (step, workflow) if workflow else (step,))
    label = getattr(fn, "ident", None) or getattr(fn, "__name__", "function")
    result = ReplayDiff(f"step {step!r} replayed through {label}")
    for r in rows:
        wf = get_workflow(r["workflow"])
        template = "main" if r["task"] == "main" else r["task"].split(":", 1)[0]
        steps = wf.steps_of(template)
        spec = next(s for s in steps if s.name == step)
        scope: dict[str, Any] = {"params": _json.loads(r["params"]), "item": _json.loads(r["item"])}
        for prior in orch.store.query("SELECT idx, outputs FROM steps WHERE task_id=? AND phase='do' AND idx<?",
                                    (r["task_id"], r["idx"])):
            scope[steps[prior["idx"]].name] = _json.loads(prior["outputs"])
        inputs = resolve(dict(spec.inputs), scope, orch.store, step=step)
        if isinstance(fn, _agents.Agent):
            ctx = _agents.AgentContext(orch.agents, f"replay:{r['run_id']}", r["task_id"], step, new_id("sp"), wf.name, "replay",
                                       fn.name, fn.version, scope["params"])
            new = fn.run(ctx, **inputs).outputs
        elif callable(fn):
            new = fn(**inputs)
        else:
            raise ValidationError("fn must be an Agent or a function of the step's inputs", field="fn")
        result.examined += 1
        for path, before, after in diff(_json.loads(r["outputs"]), new):
            result.changes.append(Change(f"{r['run_id']}/{r['task']}", path, before, after))
    return result


def replay_events(store: Any, event_types: str | Iterable[str], fn: Callable[[dict[str, Any]], dict[str, Any]]) -> ReplayDiff:
    """Pass each recorded event's payload through ``fn`` and list the payloads that would change."""
    types = [event_types] if isinstance(event_types, str) else list(event_types)
    result = ReplayDiff(f"events {', '.join(types)} replayed through {getattr(fn, '__name__', 'function')}")
    for t in types:
        for e in store.events(type=t):
            result.examined += 1
            for path, before, after in diff(e.payload, fn(json.loads(json.dumps(e.payload)))):
                result.changes.append(Change(f"{e.entity}#{e.seq}", path, before, after))
    return result
