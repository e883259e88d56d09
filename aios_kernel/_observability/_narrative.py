"""A run's events read as a story: who did what, why, on which evidence."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._store import Store

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class Line:
    at: str
    who: str
    what: str
    why: str = ""
    evidence: list[str] = field(default_factory=list)
    untrusted: bool = False

    def __str__(self) -> str:
        text = f"{self.at[11:19]}  {self.who}: {self.what}"
        if self.why:
            text += f" — because {self.why}"
        if self.evidence:
            text += f" [evidence: {', '.join(self.evidence[:4])}{' (untrusted content)' if self.untrusted else ''}]"
        return text


class Narrative(list):  # type: ignore[type-arg]
    """Lines of a run's story; prints as text, shows as a list in notebooks."""

    run_id: str = ""

    def __str__(self) -> str:
        return "\n".join(map(str, self)) or f"run {self.run_id}: nothing happened yet"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        items = "".join(
            f"<li><code>{esc(x.at[11:19])}</code> <b>{esc(x.who)}</b>: {esc(x.what)}"
            + (f" <i>because {esc(x.why)}</i>" if x.why else "")
            + (f" <small>[{esc(', '.join(x.evidence[:4]))}]{' ⚠ untrusted' if x.untrusted else ''}</small>" if x.evidence else "")
            + "</li>" for x in self)
        return f"<ol class='aios-narrative'>{items}</ol>"

    def frame(self) -> pl.DataFrame:
        import polars as pl

        return pl.DataFrame([{"at": x.at, "who": x.who, "what": x.what, "why": x.why, "evidence": ", ".join(x.evidence)}
                             for x in self], schema={"at": pl.String, "who": pl.String, "what": pl.String, "why": pl.String,
                                                     "evidence": pl.String})


def _who(actor: str) -> str:
    if actor.startswith("agent:"):
        return actor[6:]
    if actor.startswith("worker:"):
        return "worker"
    return actor


def narrative(store: Store, run_id: str) -> Narrative:
    """The business events of ``run_id`` as :class:`Line` s (the engine's bookkeeping left out)."""
    out = Narrative()
    out.run_id = run_id
    tasks: dict[str, str] = {}
    for e in store.events(correlation_id=run_id):
        p: dict[str, Any] = e.payload
        who = _who(e.actor)
        line: Line | None = None
        if e.type == "run.submitted":
            line = Line(e.at, who, f"started {p['workflow']} ({p.get('mode', 'live')}) with {p.get('params') or 'defaults'}",
                        f"goal {p['goal']}" if p.get("goal") else "")
        elif e.type == "run.rejected":
            line = Line(e.at, who, f"asked for {p['workflow']}, refused", p.get("error", ""))
        elif e.type == "task.enqueued":
            tasks[e.entity.split(":", 1)[1]] = p["name"]
            if p["name"] != "main":
                line = Line(e.at, "planner", f"queued task {p['name']}")
        elif e.type == "step.completed":
            evid = [str(x.get("ref")) for x in p.get("evidence") or []]
            untrusted = any(x.get("untrusted") for x in p.get("evidence") or [])
            conf = f" (confidence {p['confidence']:.2f})" if isinstance(p.get("confidence"), (int, float)) else ""
            what = p.get("note") or f"{p['name']} {p['status']}"
            line = Line(e.at, who, f"{tasks.get(e.entity.split(':', 1)[1], '')} · {p['name']}: {what}{conf}", "", evid, untrusted)
        elif e.type == "step.failed":
            line = Line(e.at, p.get("agent") or who, f"step {p['name']} failed (try {p.get('attempt')})", p["error"])
        elif e.type == "step.compensated":
            line = Line(e.at, "saga", f"undid {p['name']}", p.get("note") or "a later step failed")
        elif e.type == "approval.requested":
            reasons = "; ".join(p.get("why", {}).get("policy", {}).get("reasons", []))
            evid = [str(x.get("ref")) for x in p.get("evidence") or []]
            line = Line(e.at, "policy", f"asks you: {p['title']}", reasons, evid, any(x.get("untrusted") for x in p.get("evidence") or []))
        elif e.type == "approval.decided":
            detail = p.get("choice") or p["decision"]
            line = Line(e.at, who, f"decided {detail}" + (f" with edits to {', '.join(p['edits'])}" if p.get("edits") else ""),
                        p.get("reason") or "")
        elif e.type == "effect.applied":
            line = Line(e.at, "executor", f"did {p['key']}" + (" (found done after a restart, not repeated)" if p.get("reconciled") else ""))
        elif e.type == "effect.simulated":
            line = Line(e.at, "executor", f"would {p['action']} ({p['key']}) — simulated, nothing sent")
        elif e.type == "task.finished" and p["status"] != "succeeded":
            line = Line(e.at, who, f"task {tasks.get(e.entity.split(':', 1)[1], '')} {p['status']}", p.get("error") or "")
        elif e.type == "run.status" and p["status"] in ("succeeded", "failed", "compensated", "cancelled", "waiting_approval"):
            line = Line(e.at, "orchestrator", f"run is {p['status'].replace('_', ' ')}", p.get("error") or "")
        if line is not None:
            out.append(line)
    return out
