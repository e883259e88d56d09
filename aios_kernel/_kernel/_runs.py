"""``%aios runs``, ``%aios trace RUN``, ``%aios approvals``, ``%aios run``, ``%aios resume``, ``%aios costs``, ``%aios plan``."""

from __future__ import annotations

import html
from typing import Any

from ._commands import Magic, require


class TraceReport:
    """A run's story and its spans, for the notebook."""

    def __init__(self, wb: Any, run_id: str) -> None:
        self.run = wb.get_run(run_id)
        self.story = wb.narrative(run_id)
        self.frame = wb.trace(run_id)

    def __str__(self) -> str:
        return f"{self.run!r}\n{self.story}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        df = self.frame.select("kind", "name", "status", "agent", "agent_version", "tier", "tokens_in", "tokens_out", "cost",
                               "duration_s")
        totals = self.frame.filter(self.frame["kind"] == "model")
        cost = f"{totals['tokens_in'].sum() + totals['tokens_out'].sum()} tokens, {totals['cost'].sum():.6f} money"
        return (self.run._repr_html_() + f"<p>models: {html.escape(cost)}</p>" + self.story._repr_html_()
                + f"<details><summary>{df.height} spans</summary>{df._repr_html_()}</details>")


def _kv(args: list[str]) -> dict[str, str]:
    return dict(a.split("=", 1) for a in args if "=" in a)


def _runs(wb: Any, args: list[str]) -> Any:
    return require(wb).runs(status=args[0] if args else None)


def _trace(wb: Any, args: list[str]) -> Any:
    wb = require(wb)
    run_id = args[0] if args else (wb.runs(limit=1)[0].id if wb.runs(limit=1) else None)
    if run_id is None:
        return "no runs yet"
    return TraceReport(wb, run_id)


def _approvals(wb: Any, args: list[str]) -> Any:
    return require(wb).approvals


def _run(wb: Any, args: list[str]) -> Any:
    if not args:
        from .._orchestrator import workflows

        return "usage: %aios run WORKFLOW [key=value ...]; workflows: " + ", ".join(workflows())
    return require(wb).run(args[0], _kv(args[1:]))


def _resume(wb: Any, args: list[str]) -> Any:
    return require(wb).resume()


def _costs(wb: Any, args: list[str]) -> Any:
    return require(wb).costs(args[0] if args else "workflow")


def _plan(wb: Any, args: list[str]) -> Any:
    return require(wb).plan(" ".join(args) or "daily_ops")


MAGICS = [
    Magic("runs", "recent runs of workflows", "runs [STATUS]", _runs),
    Magic("trace", "the story and spans of a run", "trace RUN", _trace),
    Magic("approvals", "decisions waiting for you", "approvals", _approvals),
    Magic("run", "run a workflow until done or waiting for approval", "run WORKFLOW [key=value ...]", _run),
    Magic("resume", "reclaim, reconcile and run what is pending", "resume", _resume),
    Magic("costs", "model spending by workflow (or: costs day)", "costs [workflow|day]", _costs),
    Magic("plan", "map a goal to workflows", "plan GOAL", _plan),
]
