"""The planner: from a goal to workflows with their parameters filled in.

Goals are hierarchical: a goal names sub-goals and workflows (``daily_ops``
→ ``inbox_triage``, ``meeting_followup``, ``invoicing``), each workflow runs
as tasks, and each task as steps. A goal may also be free text ("triage the
inbox and prepare the October invoices"): each clause is routed to a
workflow by the router tier against the workflows' intent phrases, and
parameters are read from the words (month names, ISO weeks, dates). Every
plan is validated before anything is queued: a bad parameter names its
field, and a goal that contains itself is refused with the cycle spelled out.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .._errors import AiosError, ValidationError, WorkflowError
from .._ids import new_id
from ._registry import get_workflow, workflows

GOALS: dict[str, list[str]] = {
    "daily_ops": ["inbox_triage", "meeting_followup", "invoicing"],
    "weekly_review": ["weekly_content"],
    "plan_the_week": ["daily_ops", "weekly_review"],
}
"""Named goals and what they consist of (goal or workflow names)."""

GOAL_PHRASES: dict[str, list[str]] = {
    "daily_ops": ["plan the day", "plan my day", "daily ops", "morning routine", "the day"],
    "plan_the_week": ["plan the week", "weekly plan"],
}

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})


def define_goal(name: str, children: list[str], phrases: list[str] | None = None) -> None:
    """Add or replace a named goal (checked for cycles when it is planned)."""
    if not children:
        raise ValidationError(f"goal {name!r} needs at least one sub-goal or workflow", field="children")
    GOALS[name] = list(children)
    if phrases:
        GOAL_PHRASES[name] = list(phrases)


@dataclass
class PlannedRun:
    """One workflow the plan will run, with its parameters and why it was chosen."""

    workflow: str
    params: dict[str, Any]
    path: list[str]
    reason: str
    confidence: float = 1.0

    @property
    def idempotency_key(self) -> str:
        body = json.dumps([self.path, self.workflow, self.params], sort_keys=True)
        return f"plan:{'/'.join(self.path)}:{hashlib.sha256(body.encode()).hexdigest()[:12]}"


@dataclass
class Plan:
    """Goal → workflows (→ tasks → steps once submitted)."""

    goal: str
    runs: list[PlannedRun]
    day: str
    _orch: Any = field(default=None, repr=False)

    def submit(self) -> list[Any]:
        """Queue every planned run (again the same day: the same runs, by idempotency key)."""
        return [self._orch.submit(p.workflow, p.params, f"{p.idempotency_key}:{self.day}", goal="/".join(p.path))
                for p in self.runs]

    def run(self) -> list[Any]:
        """Submit and run until each is done or waits for approval."""
        runs = self.submit()
        self._orch.run_pending()
        return runs

    def __str__(self) -> str:
        lines = [f"plan for {self.goal!r} ({len(self.runs)} workflow(s)):"]
        for p in self.runs:
            lines.append(f"  {' → '.join(p.path)}: {p.workflow}({', '.join(f'{k}={v!r}' for k, v in p.params.items() if v not in ('', None))})"
                         f"  [{p.reason}]")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(' → '.join(p.path))}</td><td><b>{html.escape(p.workflow)}</b></td>"
                       f"<td><code>{html.escape(json.dumps({k: v for k, v in p.params.items() if v not in ('', None)}))}</code></td>"
                       f"<td>{html.escape(p.reason)}</td></tr>" for p in self.runs)
        return (f"<div><b>Plan for {html.escape(self.goal)}</b><table><tr><th>goal path</th><th>workflow</th><th>params</th>"
                f"<th>why</th></tr>{rows}</table><small>plan.submit() queues them; plan.run() runs them</small></div>")


class Planner:
    """Maps goals to workflows for one workbench."""

    def __init__(self, orch: Any) -> None:
        self.orch = orch

    def plan(self, goal: Any, **params: Any) -> Plan:
        """A :class:`Plan` for ``goal`` (a goal or workflow name, free text, or a list of those)."""
        day = str(self.orch.records.today())
        label = goal if isinstance(goal, str) else json.dumps(goal, default=str)
        try:
            runs = self._expand(goal, [], params)
            if not runs:
                raise WorkflowError(f"goal {label!r} plans nothing", field="goal")
            for p in runs:
                p.params = get_workflow(p.workflow).validate_params(p.params)
        except AiosError as exc:
            run_id = new_id("run")
            self.orch.store.emit("run.rejected", f"run:{run_id}", {"workflow": f"goal:{label}", "params": {
                k: str(v) for k, v in params.items()}, "error": str(exc), "field": getattr(exc, "field", None)},
                actor="planner", correlation_id=run_id)
            exc.run_id = run_id  # type: ignore[attr-defined]
            raise
        return Plan(label, runs, day, self.orch)

    def _expand(self, goal: Any, path: list[str], params: dict[str, Any]) -> list[PlannedRun]:
        if isinstance(goal, (list, tuple)):
            return [r for g in goal for r in self._expand(g, path, params)]
        if not isinstance(goal, str) or not goal.strip():
            raise ValidationError(f"a goal is a name, a sentence or a list of them, got {goal!r}", field="goal")
        name = goal.strip()
        if name in GOALS:
            if name in path:
                cycle = " → ".join([*path[path.index(name):], name])
                raise WorkflowError(f"goal cycle: {cycle}; a goal cannot contain itself (fix GOALS / define_goal)",
                                    field="goal")
            return [r for child in GOALS[name] for r in self._expand(child, [*path, name], params)]
        if name in workflows():
            return [PlannedRun(name, self._params_for(name, "", params), [*path, name] if path else [name], "named")]
        return self._from_text(name, path, params)

    def _from_text(self, text: str, path: list[str], params: dict[str, Any]) -> list[PlannedRun]:
        labels: dict[str, list[str]] = {}
        for name, wf in workflows().items():
            labels[name] = [*wf.intents, name.replace("_", " ")]
        for name, phrases in GOAL_PHRASES.items():
            labels[f"goal:{name}"] = phrases
        out: list[PlannedRun] = []
        for clause in [c.strip() for c in re.split(r"\band then\b|\bthen\b|\band\b|[,;]", text) if c.strip()]:
            route = self.orch.models().route([clause], labels, default="")[0]
            if not route.label or route.confidence < 0.35:
                known = ", ".join(workflows())
                raise WorkflowError(f"no workflow matches {clause!r}; name one of: {known} (or a goal: {', '.join(GOALS)})",
                                    field="goal")
            if route.label.startswith("goal:"):
                out += self._expand(route.label[5:], path, params)
                continue
            reason = f"{route.method} matched {', '.join(route.matched) or route.label} ({route.confidence:.2f})"
            out.append(PlannedRun(route.label, self._params_for(route.label, clause, params), [*path, clause],
                                  reason, route.confidence))
        return out

    def _params_for(self, workflow: str, text: str, given: dict[str, Any]) -> dict[str, Any]:
        accepted = get_workflow(workflow).params
        found: dict[str, Any] = {}
        low = text.lower()
        month = re.search(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b(?:\s+(\d{4}))?", low)
        if month and "month" in accepted:
            year = month.group(2) or self._year_for(_MONTHS[month.group(1)])
            found["month"] = f"{year}-{_MONTHS[month.group(1)]:02d}"
        if (m := re.search(r"\b(\d{4}-\d{2})\b(?!-)", text)) and "month" in accepted:
            found["month"] = m.group(1)
        if (m := re.search(r"\b(\d{4}-W\d{2})\b", text, re.I)) and "week" in accepted:
            found["week"] = m.group(1).upper()
        if (m := re.search(r"\bsince (\d{4}-\d{2}-\d{2})\b", low)) and "since" in accepted:
            found["since"] = m.group(1)
        found.update({k: v for k, v in given.items() if k in accepted})
        return found

    def _year_for(self, month: int) -> int:
        today = self.orch.records.today()
        return today.year if month <= today.month else today.year - 1
