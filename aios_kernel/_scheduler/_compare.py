"""Two runs of one schedule side by side: parameters, durations, and the cell outputs that changed."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ._runs import PipelineRun


@dataclass
class RunComparison:
    """What differs between run ``a`` (older) and run ``b`` (newer)."""

    a: PipelineRun
    b: PipelineRun
    parameters: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """name -> (value in a, value in b), for names whose value differs."""
    outputs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    """code cell -> (text in a, text in b), for cells whose output text differs."""

    @property
    def duration_change_s(self) -> float | None:
        if self.a.duration_s is None or self.b.duration_s is None:
            return None
        return self.b.duration_s - self.a.duration_s

    def lines(self) -> list[str]:
        a, b = self.a, self.b
        out = [f"{a.schedule or a.notebook}: {a.id} ({a.scheduled_for}, {a.status}) vs {b.id} ({b.scheduled_for}, {b.status})"]
        d = self.duration_change_s
        out.append(f"  duration: {_s(a.duration_s)} -> {_s(b.duration_s)}" + (f" ({d:+.1f} s)" if d is not None else ""))
        out += [f"  parameter {k}: {va!r} -> {vb!r}" for k, (va, vb) in sorted(self.parameters.items())] or ["  parameters: same"]
        for cell, (ta, tb) in sorted(self.outputs.items(), key=lambda kv: int(kv[0])):
            out.append(f"  cell {cell}: {_short(ta)} -> {_short(tb)}")
        if not self.outputs:
            out.append("  outputs: same")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(repr(va))}</code></td>"
                       f"<td><code>{html.escape(repr(vb))}</code></td></tr>" for k, (va, vb) in sorted(self.parameters.items()))
        cells = "".join(f"<tr><td>cell {html.escape(c)}</td><td><pre>{html.escape(ta or '')}</pre></td>"
                        f"<td><pre>{html.escape(tb or '')}</pre></td></tr>"
                        for c, (ta, tb) in sorted(self.outputs.items(), key=lambda kv: int(kv[0])))
        head = html.escape(self.lines()[0]) + "<br>" + html.escape(self.lines()[1].strip())
        return (f"<div class='aios-compare'><p>{head}</p><table><tr><th></th><th>{html.escape(self.a.id)}</th>"
                f"<th>{html.escape(self.b.id)}</th></tr>{rows or '<tr><td colspan=3>parameters: same</td></tr>'}"
                f"{cells or '<tr><td colspan=3>outputs: same</td></tr>'}</table></div>")


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s"


def _short(text: str | None) -> str:
    if text is None:
        return "(none)"
    one = " ".join(text.split())
    return repr(one[:60] + ("…" if len(one) > 60 else ""))


def compare(a: PipelineRun, b: PipelineRun) -> RunComparison:
    """``a`` and ``b`` ordered oldest first, with what changed."""
    if (a.scheduled_for or a.created_at or "") > (b.scheduled_for or b.created_at or ""):
        a, b = b, a
    keys = set(a.parameters) | set(b.parameters)
    params = {k: (a.parameters.get(k), b.parameters.get(k)) for k in keys if a.parameters.get(k) != b.parameters.get(k)}
    cells = set(a.outputs) | set(b.outputs)
    outs: dict[str, tuple[str | None, str | None]] = {}
    for c in cells:
        oa, ob = a.outputs.get(c) or {}, b.outputs.get(c) or {}
        if oa.get("digest") != ob.get("digest"):
            outs[c] = (oa.get("text"), ob.get("text"))
    return RunComparison(a, b, params, outs)
