"""The trace timeline: a run's spans over time, coloured by status, each one open for inspection.

Spans come from the observability layer's ``spans(store, run_id)`` read
through the widget's own connection; while the run is alive the poll
redraws it as spans start and end. Clicking a span resolves its input and
output references (a step's checkpoint, an outbox effect) to what was
actually recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import traitlets as t

from aios_kernel._errors import NotFoundError, ValidationError
from aios_kernel._observability import version as trace_version
from aios_kernel._orchestrator import checkpoint, checkpoints_version, effects_by_key, recent_runs, run_summary, runs_version

from ._base import WorkbenchWidget, asset, jsonable

FAILED = ("error", "failed")


def _epoch(at: str | None) -> float | None:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() if at else None


def tree_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each span followed by its children, with ``depth`` set (run, tasks, steps, model and connector calls)."""
    ids = {s["id"] for s in rows}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in rows:
        parent = s["parent_id"] if s["parent_id"] in ids and s["parent_id"] != s["id"] else None
        children.setdefault(parent, []).append(s)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda r: (r["start_at"] or "", r["id"])):
            if s["id"] in seen:
                continue
            seen.add(s["id"])
            out.append({**s, "depth": depth})
            walk(s["id"], depth + 1)

    walk(None, 0)
    return out


def span_rows(rows: list[dict[str, Any]], *, now: float | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Spans as timeline rows (``start``/``end`` in seconds from the run's start) and totals."""
    now = now if now is not None else datetime.now(UTC).timestamp()
    starts = [t for s in rows if (t := _epoch(s["start_at"])) is not None]
    t0 = min(starts) if starts else now
    ends = [t for s in rows for t in (_epoch(s["end_at"]), _epoch(s["start_at"])) if t is not None]
    open_ = any(s["end_at"] is None for s in rows)
    t1 = max([*ends, now] if open_ else ends or [t0])
    out = []
    for s in tree_order(rows):
        start = (_epoch(s["start_at"]) or t0) - t0
        end = (_epoch(s["end_at"]) or t1) - t0
        compensation = s["kind"] == "step" and s["name"].startswith("undo ")
        out.append(jsonable({
            "id": s["id"], "parent_id": s["parent_id"], "depth": s["depth"], "kind": s["kind"], "name": s["name"],
            "status": "compensated" if compensation else s["status"], "open": s["end_at"] is None,
            "start": round(start, 6), "end": round(max(end, start), 6), "duration": round(max(end - start, 0.0), 6),
            "start_at": s["start_at"], "end_at": s["end_at"], "agent": s["agent"], "agent_version": s["agent_version"],
            "tier": s["tier"], "tokens_in": s["tokens_in"], "tokens_out": s["tokens_out"], "cpu_s": s["cpu_s"],
            "cost": s["cost"], "input_ref": s["input_ref"], "output_ref": s["output_ref"], "attrs": s["attrs"] or {},
        }))
    model = [r for r in out if r["kind"] == "model"]
    totals = {
        "spans": len(out), "span_s": round(t1 - t0, 6),
        "tokens": sum(int(r["tokens_in"] or 0) + int(r["tokens_out"] or 0) for r in model),
        "cpu_s": round(sum(float(r["cpu_s"] or 0) for r in out if r["kind"] in ("model", "step")), 6),
        "cost": round(sum(float(r["cost"] or 0) for r in model), 8),
        # steps and calls, not their run and task, which carry the same outcome
        "failed": sum(1 for r in out if r["status"] in FAILED and r["kind"] not in ("run", "task")),
        "compensated": sum(1 for r in out if r["status"] == "compensated" and r["kind"] == "step"),
        "waiting": sum(1 for r in out if r["status"] == "waiting"), "model_calls": len(model),
        "connector_calls": sum(1 for r in out if r["kind"] == "connector"),
    }
    return out, totals


class TraceTimeline(WorkbenchWidget):
    """The spans of one run as a timeline (``%aios timeline RUN``; default: the latest run)."""

    _esm = asset("common.js", "trace.js")
    _css = asset("common.css", "trace.css")

    run_id = t.Unicode("").tag(sync=True)
    run = t.Dict().tag(sync=True)
    spans = t.List().tag(sync=True)
    totals = t.Dict().tag(sync=True)
    runs = t.List().tag(sync=True)
    """Recent runs, for the picker."""
    selected = t.Unicode("").tag(sync=True)
    detail = t.Dict().tag(sync=True)
    """The selected span with its input and output references resolved."""

    def __init__(self, wb: Any = None, run_id: Any = None, *, live: bool = True, poll_s: float = 1.0, **kwargs: Any) -> None:
        self._initial = getattr(run_id, "id", run_id)
        super().__init__(wb, live=live, poll_s=poll_s, **kwargs)

    def probe(self) -> Any:
        run_id = self.run_id or self._initial
        latest = runs_version(self._reader)
        return ((trace_version(self._reader, run_id), checkpoints_version(self._reader, run_id)) if run_id else None, latest)

    def refresh(self) -> None:
        with self.hold_sync():
            self.runs = [jsonable({k: r[k] for k in ("id", "workflow", "status", "mode", "created_at")})
                         for r in recent_runs(self._reader, 30)]
            if not self.run_id:
                wanted = self._initial or (self.runs[0]["id"] if self.runs else "")
                if not wanted:
                    return
                try:
                    self._load(wanted)
                except NotFoundError as exc:
                    self.notice = {"level": "error", "text": str(exc)}
                    self._initial = None
                return
            self._load(self.run_id)

    def _load(self, run_id: str) -> None:
        from aios_kernel._observability import spans

        rows = spans(self._reader, run_id)
        run = run_summary(self._reader, run_id)
        shown, totals = span_rows(rows)
        with self.hold_sync():
            self.run_id = run_id
            self.run = jsonable(run) if run else {}
            self.spans = shown
            self.totals = totals
            if self.selected and self.selected in {s["id"] for s in shown}:
                self.detail = self._detail(self.selected)
            elif self.selected:
                self.selected, self.detail = "", {}

    def _detail(self, span_id: str) -> dict[str, Any]:
        span = next((s for s in self.spans if s["id"] == span_id), None)
        if span is None:
            raise NotFoundError(f"run {self.run_id} has no span {span_id!r}", id=span_id)
        return jsonable({"span": span, "input": self._resolve(span.get("input_ref")),
                         "output": self._resolve(span.get("output_ref"))})

    def _resolve(self, ref: str | None) -> dict[str, Any] | None:
        """What a span's reference points at: a step checkpoint, an outbox effect, or just the reference."""
        if not ref:
            return None
        kind, _, rest = ref.partition(":")
        if kind == "step":
            task_id, _, tail = rest.partition("/")
            idx, _, phase = tail.partition("/")
            row = checkpoint(self._reader, task_id, int(idx) if idx.isdigit() else -1, phase or "do")
            if row is None:
                return {"ref": ref, "missing": True}
            return {"ref": ref, "what": "step checkpoint", **row}
        if kind == "outbox":
            effect = effects_by_key(self._reader, [rest], payload=True).get(rest)
            if effect is None:
                return {"ref": ref, "missing": True}
            return {"ref": ref, "what": "side effect", **effect}
        return {"ref": ref}

    # -- operations -------------------------------------------------------------------------------

    def _op_select_run(self, req: dict[str, Any]) -> str:
        run_id = str(req.get("run_id") or "")
        if not run_id:
            raise ValidationError("which run? pick one from the list", field="run_id")
        self.selected, self.detail = "", {}
        self._load(run_id)
        self._seen = self.probe()
        return ""

    def _op_select(self, req: dict[str, Any]) -> str:
        span_id = str(req.get("span_id") or "")
        detail = self._detail(span_id)
        with self.hold_sync():
            self.selected = span_id
            self.detail = detail
        return ""

    def select(self, span_id: str) -> dict[str, Any]:
        """Select a span as a click does; returns its detail."""
        reply = self.handle({"op": "select", "span_id": span_id})
        if not reply["ok"]:
            raise NotFoundError(reply["message"], id=span_id)
        return self.detail

    def __repr__(self) -> str:
        if self.error:
            return super().__repr__()
        tot = self.totals or {}
        return (f"<TraceTimeline run {self.run_id or '(none)'} {self.run.get('status', '')}: {tot.get('spans', 0)} spans, "
                f"{tot.get('failed', 0)} failed, {tot.get('compensated', 0)} compensated>")
