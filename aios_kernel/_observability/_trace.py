"""Traces and costs as polars DataFrames.

Every run, task, step, model call and connector call is a row of ``spans``
(written by the projectors of their events): trace id (the run), parent,
start, end, status, agent and version, tokens, CPU-seconds, cost, input and
output references.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import NotFoundError, ValidationError
from .._store import Store, _json

if TYPE_CHECKING:
    import polars as pl

SPAN_COLUMNS = ["id", "trace_id", "parent_id", "kind", "name", "start_at", "end_at", "status", "agent", "agent_version", "tier",
                "tokens_in", "tokens_out", "cpu_s", "cost", "input_ref", "output_ref", "attrs"]


def spans(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The spans of one run, in start order, with ``attrs`` parsed.

    Runs, tasks, failed tries, model and connector calls are rows of ``spans``;
    a step's checkpoint row in ``steps`` is its span (see the orchestrator schema).
    """
    if store.one("SELECT 1 FROM runs WHERE id=?", (run_id,)) is None:
        raise NotFoundError(f"no run {run_id!r}; `%aios runs` lists the recent ones", id=run_id)
    out = []
    for r in store.query(f"SELECT {', '.join(SPAN_COLUMNS)} FROM spans WHERE trace_id=?", (run_id,)):
        d = dict(r)
        d["attrs"] = _json.loads(d["attrs"]) or {}
        out.append(d)
    for r in store.query("SELECT s.* FROM queue q JOIN steps s ON s.task_id = q.id WHERE q.run_id=?", (run_id,)):
        out.append(step_span(dict(r), run_id))
    out.sort(key=lambda d: (d["start_at"] or "", d["kind"] != "run", d["kind"] != "task"))
    return out


def step_span(r: dict[str, Any], run_id: str) -> dict[str, Any]:
    """A ``steps`` row as a span."""
    cost = _json.loads(r["cost"]) or {}
    undo = r["phase"] == "undo"
    attrs = {k: v for k, v in (("confidence", r["confidence"]), ("note", r["note"])) if v is not None}
    return {"id": r["span_id"] or f"{r['task_id']}/{r['idx']}/{r['phase']}", "trace_id": run_id,
            "parent_id": r["task_id"], "kind": "step", "name": f"undo {r['name']}" if undo else r["name"],
            "start_at": r["started_at"] or r["ended_at"], "end_at": r["ended_at"],
            "status": {"succeeded": "ok", "compensated": "ok"}.get(r["status"], r["status"]),
            "agent": r["agent"], "agent_version": r["agent_version"], "tier": cost.get("tier"),
            "tokens_in": int(cost.get("tokens_in", 0)), "tokens_out": int(cost.get("tokens_out", 0)),
            "cpu_s": float(cost.get("cpu_s", 0.0)), "cost": float(cost.get("money", 0.0)),
            "input_ref": f"task:{r['task_id']}/{r['idx']}", "output_ref": f"step:{r['task_id']}/{r['idx']}/{r['phase']}",
            "attrs": attrs}


def trace(store: Store, run_id: str) -> pl.DataFrame:
    """One row per span of the run, with ``duration_s``; ``attrs`` as a JSON string column."""
    import polars as pl

    rows = spans(store, run_id)
    for r in rows:
        r["attrs"] = _json.dumps(r["attrs"])
    schema = {"id": pl.String, "trace_id": pl.String, "parent_id": pl.String, "kind": pl.String, "name": pl.String,
              "start_at": pl.String, "end_at": pl.String, "status": pl.String, "agent": pl.String, "agent_version": pl.String,
              "tier": pl.String, "tokens_in": pl.Int64, "tokens_out": pl.Int64, "cpu_s": pl.Float64, "cost": pl.Float64,
              "input_ref": pl.String, "output_ref": pl.String, "attrs": pl.String}
    df = pl.DataFrame(rows, schema=schema)
    start = pl.col("start_at").str.to_datetime(time_zone="UTC", strict=False)
    end = pl.col("end_at").str.to_datetime(time_zone="UTC", strict=False)
    return df.with_columns(((end - start).dt.total_microseconds() / 1e6).alias("duration_s"))


def costs(store: Store, by: str = "workflow") -> pl.DataFrame:
    """Model spending summed ``by`` ``"workflow"``, ``"day"``, ``"run"``, ``"agent"`` or ``"tier"``."""
    import polars as pl

    keys = {"workflow": "coalesce(r.workflow, '(outside runs)')", "day": "substr(s.start_at, 1, 10)", "run": "s.trace_id",
            "agent": "coalesce(s.agent, '(none)')", "tier": "s.tier"}
    if by not in keys:
        raise ValidationError(f"costs(by=...) must be one of {', '.join(keys)}, got {by!r}", field="by")
    rows = store.query(
        f"SELECT {keys[by]} AS {by}, count(*) AS calls, sum(s.tokens_in) AS tokens_in, sum(s.tokens_out) AS tokens_out,"
        " sum(s.cpu_s) AS cpu_s, sum(s.cost) AS cost, count(DISTINCT s.trace_id) AS runs"
        f" FROM spans s LEFT JOIN runs r ON r.id = s.trace_id WHERE s.kind='model' GROUP BY 1 ORDER BY 1")
    schema = {by: pl.String, "calls": pl.Int64, "tokens_in": pl.Int64, "tokens_out": pl.Int64, "cpu_s": pl.Float64,
              "cost": pl.Float64, "runs": pl.Int64}
    return pl.DataFrame([dict(r) for r in rows], schema=schema)
