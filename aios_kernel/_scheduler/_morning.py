"""The morning view: what the night's runs proposed, what was decided since, and what went out.

Read through the other layers' typed APIs (``wb.approvals``, ``wb.runs()``,
``run.effects``) and this layer's own records; the workbench is passed in,
never imported.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .._ids import iso
from ._runs import PipelineRun, PipelineRuns


@dataclass
class MorningView:
    since: str
    runs: list[PipelineRun] = field(default_factory=list)
    proposed: list[dict[str, Any]] = field(default_factory=list)
    decided: list[dict[str, Any]] = field(default_factory=list)
    went_out: list[dict[str, Any]] = field(default_factory=list)
    waiting: int = 0

    def lines(self) -> list[str]:
        out = [f"Since {self.since}:"]
        if self.runs:
            out.append(f"  pipeline runs: {len(self.runs)}")
            for r in self.runs:
                extra = f" ({r.error})" if r.error and r.status != "succeeded" else ""
                out.append(f"    - {r.schedule or r.notebook} {r.scheduled_for or ''}: {r.status}{extra}")
        else:
            out.append("  pipeline runs: none")
        out.append(f"  proposed (waiting for you): {len(self.proposed)}")
        out += [f"    - {a['title']} [{a['status']}]" for a in self.proposed[:10]]
        out.append(f"  decided since: {len(self.decided)}")
        out += [f"    - {a['status']}: {a['title']}" for a in self.decided[:10]]
        out.append(f"  went out: {len(self.went_out)}")
        out += [f"    - {e['action']} {e['key']}" for e in self.went_out[:10]]
        out.append(f"  still waiting for a decision: {self.waiting}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        def items(xs: list[str]) -> str:
            return "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in xs) + "</ul>" if xs else "<p>none</p>"

        runs = [f"{r.schedule or r.notebook} {r.scheduled_for or ''}: {r.status}" + (f" ({r.error})" if r.error else "")
                for r in self.runs]
        return (f"<div class='aios-morning'><h4>Since {html.escape(self.since)}</h4>"
                f"<b>Pipeline runs</b>{items(runs)}"
                f"<b>Proposed</b>{items([a['title'] + ' [' + a['status'] + ']' for a in self.proposed])}"
                f"<b>Decided since</b>{items([a['status'] + ': ' + a['title'] for a in self.decided])}"
                f"<b>Went out</b>{items([e['action'] + ' ' + e['key'] for e in self.went_out])}"
                f"<p>{self.waiting} still waiting for a decision</p></div>")


def morning_view(wb: Any, since: str | datetime | None = None) -> MorningView:
    """The view for the operator: ``since`` defaults to 24 hours ago."""
    if since is None:
        since_s = iso(datetime.now(UTC) - timedelta(hours=24))
    elif isinstance(since, datetime):
        since_s = iso(since)
    else:
        since_s = since
    runs = [r for r in PipelineRuns(wb.store).list(include_skipped=False) if (r.started_at or r.created_at or "") >= since_s]
    book = wb.approvals
    approvals = book.all()
    proposed = [_a(a) for a in approvals if a.created_at >= since_s and a.status in ("pending", "deferred")]
    decided = [_a(a) for a in approvals if a.decided_at and a.decided_at >= since_s]
    went: list[dict[str, Any]] = []
    for run in wb.runs(limit=500):
        for e in run.effects:
            if e.get("status") == "applied" and (e.get("applied_at") or "") >= since_s:
                went.append({"key": e["key"], "action": e["action"], "run_id": run.id, "applied_at": e.get("applied_at")})
    went.sort(key=lambda e: e["applied_at"] or "")
    return MorningView(since_s, runs, proposed, decided, went, len(book.pending()))


def _a(a: Any) -> dict[str, Any]:
    return {"id": a.id, "title": a.title, "action": a.action, "status": a.status, "created_at": a.created_at,
            "decided_at": a.decided_at, "run_id": a.run_id}
