"""The cost meter and run board: spending per workflow and per day against the budgets, runs by status.

Numbers come from the observability layer's ``costs(store, by)`` and the
policy layer's ``spent``/``limits`` (the same ones that pause a run at its
budget), read through the widget's own connection. Connector calls are counted
beside model calls, with their price (``[connectors.NAME] price_per_call``);
the budgets are the models' (a run pauses at its model spending). :func:`cost_figure` draws
the same numbers with matplotlib, for executed notebooks and HTML reports
where no widget state is live.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import traitlets as t

from aios_kernel._observability import version as trace_version
from aios_kernel._orchestrator import checkpoints_version, recent_runs, runs_version

from ._base import WorkbenchWidget, asset, jsonable

MEASURES = ("tokens", "seconds", "money")
RUN_STATUSES = ("pending", "running", "waiting_approval", "succeeded", "failed", "compensated", "cancelled")


def spending(reader: Any, config: Any, *, recent: int = 15) -> dict[str, Any]:
    """Everything the meter shows, as plain JSON."""
    from aios_kernel._ids import utcnow
    from aios_kernel._observability import connector_spending, costs
    from aios_kernel._policy import limits, spent

    per_run = {r["run"]: r for r in costs(reader, "run").to_dicts()}
    runs = recent_runs(reader, limit=None)
    workflows: dict[str, dict[str, Any]] = {}
    for row in costs(reader, "workflow").to_dicts():
        workflows[row["workflow"]] = {"workflow": row["workflow"], "calls": row["calls"],
                                      "tokens": int(row["tokens_in"] or 0) + int(row["tokens_out"] or 0),
                                      "seconds": float(row["cpu_s"] or 0), "money": float(row["cost"] or 0), "runs": 0,
                                      "connector_calls": int(row["connector_calls"] or 0),
                                      "connector_money": float(row["connector_cost"] or 0)}
    for r in runs:
        w = workflows.setdefault(r["workflow"], {"workflow": r["workflow"], "calls": 0, "tokens": 0, "seconds": 0.0,
                                                 "money": 0.0, "runs": 0, "connector_calls": 0, "connector_money": 0.0})
        w["runs"] += 1
        c = per_run.get(r["id"])
        if c is not None:
            use = {"tokens": int(c["tokens_in"] or 0) + int(c["tokens_out"] or 0), "seconds": float(c["cpu_s"] or 0),
                   "money": float(c["cost"] or 0)}
            w["max_run"] = {m: max(w.get("max_run", {}).get(m, 0), use[m]) for m in MEASURES}
    for name, w in workflows.items():
        lim = limits(config, name)["workflow"]
        w["budget_per_run"] = lim
        w.setdefault("max_run", {m: 0 for m in MEASURES})
        w["max_share"] = max((w["max_run"][m] / lim[m] if lim[m] else 0.0) for m in MEASURES)
    day_limits = limits(config, "")["day"]
    days = [{"day": d["day"], "tokens": int(d["tokens_in"] or 0) + int(d["tokens_out"] or 0), "seconds": float(d["cpu_s"] or 0),
             "money": float(d["cost"] or 0), "calls": d["calls"], "runs": d["runs"],
             "connector_calls": int(d["connector_calls"] or 0), "connector_money": float(d["connector_cost"] or 0)}
            for d in costs(reader, "day").to_dicts()]
    today = spent(reader).to_json()
    calls_today, money_today = connector_spending(reader, day=utcnow().strftime("%Y-%m-%d"))
    today["connector_calls"], today["connector_money"] = calls_today, round(money_today, 6)
    by_status = {s: 0 for s in RUN_STATUSES}
    for r in runs:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    latest = []
    for r in runs[:recent]:
        c = per_run.get(r["id"]) or {}
        latest.append({**r, "tokens": int(c.get("tokens_in") or 0) + int(c.get("tokens_out") or 0),
                       "seconds": float(c.get("cpu_s") or 0), "money": float(c.get("cost") or 0),
                       "connector_calls": int(c.get("connector_calls") or 0),
                       "connector_money": float(c.get("connector_cost") or 0)})
    return jsonable({"by_workflow": sorted(workflows.values(), key=lambda w: w["workflow"]), "by_day": days,
                     "day_budget": day_limits, "today": today, "runs_by_status": by_status, "recent_runs": latest,
                     "total_runs": len(runs)})


class CostMeter(WorkbenchWidget):
    """Cost per workflow and per day against the budgets, and the runs by status (``%aios costs``)."""

    _esm = asset("common.js", "costs.js")
    _css = asset("common.css", "costs.css")

    data = t.Dict().tag(sync=True)

    def probe(self) -> Any:
        return trace_version(self._reader)[1], checkpoints_version(self._reader)[1], runs_version(self._reader)

    def refresh(self) -> None:
        self.data = spending(self._reader, self._wb.config)
        self.version = int(sum(self._seen)) if self._seen else 0

    def figure(self, path: str | Path | None = None) -> Any:
        """The same numbers as a static matplotlib figure (see :func:`cost_figure`)."""
        return cost_figure(self.data, path=path)

    def __repr__(self) -> str:
        if self.error:
            return super().__repr__()
        d = self.data or {}
        today = d.get("today", {})
        return (f"<CostMeter {d.get('total_runs', 0)} runs; today {today.get('tokens', 0)} tokens, "
                f"{today.get('seconds', 0)} CPU-s, {today.get('money', 0)} money>")


def cost_figure(source: Any, path: str | Path | None = None) -> Any:
    """A matplotlib Figure: per-run spending per workflow and spending per day as % of budget, runs by status.

    ``source`` is a Workbench or the dict :func:`spending` returns. Shown in
    executed notebooks (papermill, nbval, HTML reports) where widgets are not live.
    """
    import matplotlib.pyplot as plt

    data = source if isinstance(source, dict) else _from_workbench(source)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [3, 3, 2]})
    colours = {"tokens": "#0969da", "seconds": "#8250df", "money": "#1a7f37"}
    width = 0.26

    ax = axes[0]
    wfs = data["by_workflow"]
    for i, m in enumerate(MEASURES):
        vals = [100 * (w["max_run"][m] / w["budget_per_run"][m]) if w["budget_per_run"][m] else 0 for w in wfs]
        ax.bar([x + (i - 1) * width for x in range(len(wfs))], vals, width, label=m, color=colours[m])
    ax.axhline(100, color="#cf222e", linewidth=1, linestyle="--")
    ax.set_xticks(range(len(wfs)), [w["workflow"] for w in wfs], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("% of the per-run budget")
    ax.set_title("Costliest run per workflow", fontsize=10)
    ax.legend(fontsize=7)

    ax = axes[1]
    days = data["by_day"][-14:]
    for i, m in enumerate(MEASURES):
        lim = data["day_budget"][m]
        vals = [100 * d[m] / lim if lim else 0 for d in days]
        ax.bar([x + (i - 1) * width for x in range(len(days))], vals, width, label=m, color=colours[m])
    ax.axhline(100, color="#cf222e", linewidth=1, linestyle="--")
    ax.set_xticks(range(len(days)), [d["day"][5:] for d in days], fontsize=8)
    ax.set_ylabel("% of the daily budget")
    ax.set_title("Spending per day", fontsize=10)

    ax = axes[2]
    statuses = [s for s, n in data["runs_by_status"].items() if n]
    status_colours = {"succeeded": "#1a7f37", "failed": "#cf222e", "compensated": "#8250df", "cancelled": "#6e7781",
                      "waiting_approval": "#bf8700", "running": "#0969da", "pending": "#8c959f"}
    ax.barh(statuses, [data["runs_by_status"][s] for s in statuses], color=[status_colours.get(s, "#999") for s in statuses])
    ax.invert_yaxis()
    ax.set_title(f"Runs by status ({data['total_runs']})", fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


def _from_workbench(wb: Any) -> dict[str, Any]:
    return spending(wb.store, wb.config)


__all__ = ["CostMeter", "cost_figure", "spending"]
