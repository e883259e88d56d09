"""``%aios pipeline runs|run|compare|cancel``, ``%aios schedules``, ``%aios morning``: pipeline runs in the notebook."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from ._commands import Magic, require

_BADGE = {"succeeded": "#1a7f37", "failed": "#cf222e", "timed_out": "#bc4c00", "crashed": "#cf222e", "cancelled": "#6e7781",
          "skipped": "#6e7781", "running": "#0969da", "pending": "#0969da", "queued": "#8250df"}


def _link(path: str | None, label: str) -> str:
    if not path:
        return ""
    try:
        href = os.path.relpath(path)
    except ValueError:
        href = path
    if href.startswith(".."):
        href = Path(path).as_uri()
    return f"<a href='{html.escape(href)}' target='_blank'>{html.escape(label)}</a>"


class RunsView:
    """Pipeline runs as a table with links to each executed notebook and its HTML report."""

    def __init__(self, runs: list[Any]) -> None:
        self.runs = runs

    def __str__(self) -> str:
        if not self.runs:
            return "no pipeline runs yet"
        return "\n".join(f"{r.id} {r.schedule or Path(r.notebook).name} {r.scheduled_for or ''} {r.status}"
                         + (f" cell {r.progress[0]}/{r.progress[1]}" if r.progress else "")
                         + (f" {r.duration_s:.1f}s" if r.duration_s is not None else "")
                         + (f" {r.error}" if r.error else "") + (f" {r.html}" if r.html else "") for r in self.runs)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if not self.runs:
            return "<p>no pipeline runs yet: <code>aios pipeline run NAME</code> or <code>aios scheduler run-due</code></p>"
        rows = []
        for r in self.runs:
            colour = _BADGE.get(r.status, "#6e7781")
            where = f" (cell {r.progress[0]} of {r.progress[1]})" if r.progress else ""
            rows.append(
                f"<tr><td><code>{html.escape(r.id)}</code></td><td>{html.escape(r.schedule or Path(r.notebook).name)}</td>"
                f"<td>{html.escape(r.scheduled_for or '')}</td>"
                f"<td style='color:{colour};font-weight:600'>{html.escape(r.status)}{html.escape(where)}</td>"
                f"<td style='text-align:right'>{'' if r.duration_s is None else f'{r.duration_s:.1f} s'}</td>"
                f"<td>{len(r.approvals)}</td><td>{html.escape((r.error or r.reason or '')[:160])}</td>"
                f"<td>{_link(r.executed, 'notebook')} {_link(r.html, 'HTML')}</td></tr>")
        return ("<table class='aios-pipeline-runs'><tr><th>run</th><th>schedule</th><th>scheduled for</th><th>status</th>"
                "<th>duration</th><th>approvals</th><th>error / reason</th><th>output</th></tr>" + "".join(rows) + "</table>")


class _Progress:
    """A display that shows which cell a run is at, updated in place."""

    def __init__(self, name: str) -> None:
        from IPython.display import display

        self.name = name
        self.handle = display(f"{name}: starting", display_id=True)

    def __call__(self, run: Any) -> None:
        if self.handle is not None and run.progress:
            self.handle.update(f"{self.name}: cell {run.progress[0]} of {run.progress[1]}")


def _pipeline(wb: Any, args: list[str]) -> Any:
    wb = require(wb)
    action, rest = (args[0], args[1:]) if args else ("runs", [])
    if action == "runs":
        from .._scheduler import PipelineRuns

        return RunsView(PipelineRuns(wb.store).list(schedule=rest[0] if rest else None, limit=50))
    if action == "run":
        if not rest:
            return "usage: %aios pipeline run NAME [param=value ...]"
        from ..pipelines.scheduler import run_pipeline

        params = dict(a.split("=", 1) for a in rest[1:] if "=" in a)
        return run_pipeline(wb, rest[0], params, on_progress=_Progress(rest[0]))
    if action == "compare":
        if len(rest) == 2:
            return wb.compare_pipeline_runs(rest[0], rest[1])
        return wb.compare_pipeline_runs(schedule=rest[0] if rest else None)
    if action == "cancel" and rest:
        from .._scheduler import PipelineRuns

        return PipelineRuns(wb.store).request_cancel(rest[0])
    return "usage: %aios pipeline runs [SCHEDULE] | run NAME [k=v ...] | compare A B | compare SCHEDULE | cancel RUN"


def _schedules(wb: Any, args: list[str]) -> Any:
    return require(wb).schedules.frame()


def _morning(wb: Any, args: list[str]) -> Any:
    return require(wb).morning(args[0] if args else None)


MAGICS = [
    Magic("pipeline", "pipeline runs with links to executed notebooks; run one (cell i of n shown), compare two, cancel",
          "pipeline runs [SCHEDULE] | run NAME [k=v ...] | compare A B | cancel RUN", _pipeline),
    Magic("schedules", "the schedules with their next runs", "schedules", _schedules),
    Magic("morning", "what the night proposed, what was decided since, what went out", "morning [SINCE]", _morning),
]
