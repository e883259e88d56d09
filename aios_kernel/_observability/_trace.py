"""Traces and costs as polars DataFrames, and the read API of spans.

Every run, task, failed try, model call and connector call is a row of
``spans`` (see ``_schema``): trace id (the run), parent, start, end, status,
agent and version, tokens, CPU-seconds, cost, input and output references. A
step's span is its checkpoint event (``step.completed`` / ``step.compensated``
in the event log, found by the run's correlation id), so a step writes one
event and one row, not a span row as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import NotFoundError, ValidationError
from .._store import Store, _json

if TYPE_CHECKING:
    import polars as pl

SPAN_COLUMNS = ["id", "trace_id", "parent_id", "kind", "name", "start_at", "end_at", "status", "agent", "agent_version", "tier",
                "tokens_in", "tokens_out", "cpu_s", "cost", "input_ref", "output_ref", "attrs"]


STEP_EVENTS = ("step.completed", "step.compensated")


def has_run(store: Store, run_id: str) -> bool:
    """Whether ``run_id`` has a trace (every run's first event opens its span)."""
    return store.one("SELECT 1 FROM spans WHERE id=? AND kind='run'", (run_id,)) is not None


def spans(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The spans of one run, in start order, with ``attrs`` parsed (steps included, from their events)."""
    if not has_run(store, run_id):
        raise NotFoundError(f"no run {run_id!r}; `%aios runs` lists the recent ones", id=run_id)
    out = []
    for r in store.query(f"SELECT {', '.join(SPAN_COLUMNS)} FROM spans WHERE trace_id=?", (run_id,)):
        d = dict(r)
        d["attrs"] = _json.loads(d["attrs"]) or {}
        out.append(d)
    for e in store.events(correlation_id=run_id, types=STEP_EVENTS):
        out.append(step_span(e.payload, task_id=e.entity.split(":", 1)[1], ended_at=e.at, undo=e.type == "step.compensated"))
    out.sort(key=lambda d: (d["start_at"] or "", d["kind"] != "run", d["kind"] != "task"))
    return out


def step_span(p: dict[str, Any], *, task_id: str, ended_at: str, undo: bool) -> dict[str, Any]:
    """A step's checkpoint event (its payload) as a span."""
    cost = p.get("cost") or {}
    phase = "undo" if undo else "do"
    attrs = {k: p[k] for k in ("confidence", "note") if p.get(k) is not None}
    return {"id": p.get("span_id") or f"{task_id}/{p['idx']}/{phase}", "trace_id": p.get("run_id"),
            "parent_id": task_id, "kind": "step", "name": f"undo {p['name']}" if undo else p["name"],
            "start_at": p.get("started_at") or ended_at, "end_at": ended_at,
            "status": {"succeeded": "ok", "compensated": "ok"}.get(p["status"], p["status"]),
            "agent": p.get("agent"), "agent_version": p.get("version"), "tier": cost.get("tier"),
            "tokens_in": int(cost.get("tokens_in", 0)), "tokens_out": int(cost.get("tokens_out", 0)),
            "cpu_s": float(cost.get("cpu_s", 0.0)), "cost": float(cost.get("money", 0.0)),
            "input_ref": f"task:{task_id}/{p['idx']}", "output_ref": f"step:{task_id}/{p['idx']}/{phase}",
            "attrs": attrs}


def model_spending(store: Store, *, run_id: str | None = None, day: str | None = None) -> tuple[int, float, float]:
    """(tokens, CPU-seconds, money) that model calls spent in one run, or on one UTC day (``YYYY-MM-DD``)."""
    if run_id is not None:
        row = store.one("SELECT sum(tokens_in + tokens_out), sum(cpu_s), sum(cost) FROM spans WHERE trace_id=? AND kind='model'",
                        (run_id,))
    else:
        row = store.one("SELECT sum(tokens_in + tokens_out), sum(cpu_s), sum(cost) FROM spans WHERE kind='model'"
                        " AND start_at >= ? AND start_at < ?", (day, f"{day}T99"))
    return int(row[0] or 0), float(row[1] or 0.0), float(row[2] or 0.0)


CALLED = ("s.kind='connector' AND s.status != 'simulated' AND coalesce(json_extract(s.attrs, '$.called'),"
          " NOT coalesce(json_extract(s.attrs, '$.reconciled'), 0))")
"""Connector spans of calls that reached their target (not simulations, reconciliations or refusals by the breaker)."""


def connector_spending(store: Store, *, run_id: str | None = None, day: str | None = None) -> tuple[int, float]:
    """(calls, money) of connector calls in one run, on one UTC day (``YYYY-MM-DD``), or ever."""
    if run_id is not None:
        row = store.one(f"SELECT count(*), sum(s.cost) FROM spans s WHERE s.trace_id=? AND {CALLED}", (run_id,))
    elif day is not None:
        row = store.one(f"SELECT count(*), sum(s.cost) FROM spans s WHERE {CALLED} AND s.start_at >= ? AND s.start_at < ?",
                        (day, f"{day}T99"))
    else:
        row = store.one(f"SELECT count(*), sum(s.cost) FROM spans s WHERE {CALLED}")
    return int(row[0] or 0), float(row[1] or 0.0)


def model_totals(store: Store) -> dict[str, Any]:
    """Every model call so far: calls, tokens, CPU-seconds, money, and calls per tier."""
    row = store.one("SELECT count(*), coalesce(sum(tokens_in + tokens_out), 0), coalesce(sum(cpu_s), 0),"
                    " coalesce(sum(cost), 0) FROM spans WHERE kind='model'")
    tiers = {r[0]: int(r[1]) for r in store.query("SELECT tier, count(*) FROM spans WHERE kind='model' GROUP BY 1 ORDER BY 1")}
    return {"calls": int(row[0]), "tokens": int(row[1]), "cpu_s": float(row[2]), "money": float(row[3]), "tiers": tiers}


def version(store: Store, run_id: str | None = None) -> tuple[int, int]:
    """(spans, newest change) of one run's trace or of all: moves whenever a span changes."""
    if run_id is None:
        row = store.one("SELECT count(*), coalesce(max(event_seq), 0) FROM spans")
    else:
        row = store.one("SELECT count(*), coalesce(max(event_seq), 0) FROM spans WHERE trace_id=?", (run_id,))
    return int(row[0]), int(row[1])


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
    """Spending summed ``by`` ``"workflow"``, ``"day"``, ``"run"``, ``"agent"`` or ``"tier"``.

    ``calls``, tokens, CPU-seconds and ``cost`` are the model calls'; ``connector_calls`` and
    ``connector_cost`` the connector calls' that reached their target (``[connectors.NAME] price_per_call``).
    """
    import polars as pl

    keys = {"workflow": "coalesce(r.name, '(outside runs)')", "day": "substr(s.start_at, 1, 10)", "run": "s.trace_id",
            "agent": "coalesce(s.agent, '(none)')", "tier": "s.tier"}
    if by not in keys:
        raise ValidationError(f"costs(by=...) must be one of {', '.join(keys)}, got {by!r}", field="by")
    rows = {r[0]: dict(r) for r in store.query(
        f"SELECT {keys[by]} AS {by}, count(*) AS calls, sum(s.tokens_in) AS tokens_in, sum(s.tokens_out) AS tokens_out,"
        " sum(s.cpu_s) AS cpu_s, sum(s.cost) AS cost, count(DISTINCT s.trace_id) AS runs"
        f" FROM spans s LEFT JOIN spans r ON r.id = s.trace_id AND r.kind='run' WHERE s.kind='model' GROUP BY 1")}
    if by != "tier":  # connector calls have no tier
        for r in store.query(
                f"SELECT {keys[by]} AS {by}, count(*), sum(s.cost), count(DISTINCT s.trace_id)"
                f" FROM spans s LEFT JOIN spans r ON r.id = s.trace_id AND r.kind='run' WHERE {CALLED} GROUP BY 1"):
            row = rows.setdefault(r[0], {by: r[0], "calls": 0, "tokens_in": 0, "tokens_out": 0, "cpu_s": 0.0, "cost": 0.0,
                                         "runs": int(r[3])})
            row["connector_calls"], row["connector_cost"] = int(r[1]), float(r[2] or 0.0)
            row["runs"] = max(int(row["runs"] or 0), int(r[3]))
    schema = {by: pl.String, "calls": pl.Int64, "tokens_in": pl.Int64, "tokens_out": pl.Int64, "cpu_s": pl.Float64,
              "cost": pl.Float64, "runs": pl.Int64, "connector_calls": pl.Int64, "connector_cost": pl.Float64}
    out = [{"connector_calls": 0, "connector_cost": 0.0, **rows[k]} for k in sorted(rows, key=lambda k: (k is None, k or ""))]
    return pl.DataFrame(out, schema=schema)
