"""The trace timeline and the cost meter: rows, statuses, resolved references, sums against the budgets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aios_kernel._errors import ConnectorError


class RefusingMail:
    """FaultyConnector: the e-mail connector with a mail server that refuses every message, a failure the saga undoes."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise ConnectorError("the mail server refused the message (test fault)", connector=self.name, transient=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _approve_invoice_run(wb: Any, client: str, key: str, *, faulty: bool = False) -> Any:
    if faulty:
        # the fault is put into this thread's connectors: the kernel's background worker (which has its own, and
        # could carry the run on first after the approval) is stopped, so this thread's run_pending meets the fault
        wb.worker.stop()
        wb.orchestrator.connectors.use("email", RefusingMail(wb.orchestrator.connectors.get("email")))
    run = wb.submit("invoicing", {"month": "2026-10", "client": client}, idempotency_key=key)
    wb.run_pending(run_id=run.id)
    for a in wb.approvals.pending():
        if a.run_id == run.id:
            a.approve()
    wb.run_pending(run_id=run.id)
    return run


def test_timeline_rows_follow_the_span_tree_and_resolve_references(awb, close_widgets):
    from aios_kernel.widgets import TraceTimeline

    run = _approve_invoice_run(awb, "Nordlys", "trace-ok")
    assert run.status == "succeeded"
    w = TraceTimeline(awb, run, live=False)
    close_widgets.append(w)
    spans = w.spans
    frame = awb.trace(run.id)
    assert len(spans) == frame.height and w.run["workflow"] == "invoicing" and w.run["status"] == "succeeded"
    assert spans[0]["kind"] == "run" and spans[0]["depth"] == 0
    by_id = {s["id"]: s for s in spans}
    for i, s in enumerate(spans[1:], 1):  # every child comes after its parent, one level deeper
        parent = by_id.get(s["parent_id"])
        assert parent is not None and spans.index(parent) < i and s["depth"] == parent["depth"] + 1
        assert 0 <= s["start"] <= s["end"]
    kinds = {s["kind"] for s in spans}
    assert {"run", "task", "step", "connector"} <= kinds
    assert w.totals["failed"] == 0 and w.totals["connector_calls"] == 3  # the invoice, its e-mail, the ledger's sent mark
    issue = next(s for s in spans if s["kind"] == "connector" and s["name"] == "invoices.issue_invoice")
    d = w.select(issue["id"])
    assert d["input"]["what"] == "side effect" and d["input"]["status"] == "applied"
    assert d["input"]["payload"]["ref"] == "2026-10-NRD-01"
    step = next(s for s in spans if s["kind"] == "step" and s["name"] == "compute")
    out = w.select(step["id"])["output"]
    assert out["what"] == "step checkpoint" and out["outputs"]["invoices"]
    assert not w.handle({"op": "select", "span_id": "sp_missing"})["ok"]
    json.dumps([w.spans, w.totals, w.detail, w.runs])


def test_failed_and_compensated_steps_are_counted_and_marked(awb, close_widgets):
    from aios_kernel.widgets import TraceTimeline

    run = _approve_invoice_run(awb, "Nordlys", "trace-fail", faulty=True)
    assert run.status == "compensated"
    w = TraceTimeline(awb, run.id, live=False)
    close_widgets.append(w)
    statuses = {(s["kind"], s["name"]): s["status"] for s in w.spans}
    assert statuses[("connector", "email.send_email")] == "error"
    assert statuses[("step", "send")] == "error"
    assert statuses[("step", "undo issue")] == "compensated"
    assert w.totals["failed"] >= 2 and w.totals["compensated"] == 1
    assert w.run["status"] == "compensated" and "mail server refused" in w.run["error"]
    assert "compensated" in repr(w)


def test_timeline_picks_other_runs_and_follows_a_live_run(awb, close_widgets):
    from aios_kernel.widgets import TraceTimeline

    w = TraceTimeline(awb, live=False)  # the latest run by default
    close_widgets.append(w)
    assert w.run_id == w.runs[0]["id"]
    first = w.run_id
    run = awb.submit("invoicing", {"month": "2026-10", "client": "Veldhoven"}, idempotency_key="trace-live")
    w.handle({"op": "select_run", "run_id": run.id})
    assert w.run_id == run.id and w.run["status"] == "pending" and len(w.spans) == 2  # the run and its main task
    awb.run_pending(run_id=run.id)
    assert w.poll() is True
    assert w.run["status"] == "waiting_approval" and w.totals["waiting"] >= 1 and len(w.spans) > 2
    assert not w.handle({"op": "select_run", "run_id": "run_nope"})["ok"]
    assert w.run_id == run.id and first != run.id


def test_timeline_without_runs_is_an_empty_state_not_an_error(demo_ws: Path, close_widgets):
    from aios_kernel import Workbench
    from aios_kernel.widgets import TraceTimeline

    with Workbench.open(demo_ws) as wb:
        w = TraceTimeline(wb, live=False)
        close_widgets.append(w)
        assert not w.error and w.run_id == "" and w.spans == []
        w2 = TraceTimeline(wb, "run_unknown", live=False)
        close_widgets.append(w2)
        assert "no run 'run_unknown'" in w2.notice["text"]


def test_cost_meter_sums_match_the_observability_layer(awb, close_widgets):
    from aios_kernel.widgets import CostMeter, spending

    _approve_invoice_run(awb, "Nordlys", "cost-ok")
    w = CostMeter(awb, live=False)
    close_widgets.append(w)
    d = w.data
    runs = awb.runs(limit=1000)
    assert d["total_runs"] == len(runs)
    assert sum(d["runs_by_status"].values()) == len(runs)
    assert d["runs_by_status"]["succeeded"] == sum(1 for r in runs if r.status == "succeeded") >= 1
    by_wf = {w_["workflow"]: w_ for w_ in d["by_workflow"]}
    frame = awb.costs("workflow")
    for row in frame.to_dicts():
        assert by_wf[row["workflow"]]["calls"] == row["calls"]
        assert by_wf[row["workflow"]]["tokens"] == row["tokens_in"] + row["tokens_out"]
    assert by_wf["invoicing"]["runs"] == sum(1 for r in runs if r.workflow == "invoicing")
    assert by_wf["invoicing"]["budget_per_run"]["tokens"] > 0 and 0 <= by_wf["invoicing"]["max_share"]
    assert d["day_budget"]["tokens"] == awb.config.get("budgets.daily_tokens")
    assert d["recent_runs"][0]["id"] == runs[0].id
    assert spending(w._reader, awb.config) == d
    json.dumps(d)


def test_cost_meter_counts_model_calls_against_the_budgets(tmp_path: Path, close_widgets):
    """Model spans (written as the model layer writes them) show up per workflow and per day."""
    from aios_kernel import Workbench
    from aios_kernel._ids import iso, new_id
    from aios_kernel.widgets import CostMeter

    with Workbench.init(tmp_path / "ws") as wb:
        wb.store.emit("model.called", "model:local", {
            "span_id": new_id("sp"), "trace_id": "adhoc", "tier": "local", "purpose": "summary", "tokens_in": 1200,
            "tokens_out": 300, "cpu_s": 12.5, "cost": 0.00125, "started_at": iso()})
        w = CostMeter(wb, live=False)
        close_widgets.append(w)
        today = w.data["today"]
        assert (today["tokens"], today["seconds"], today["money"]) == (1500, 12.5, 0.00125)
        assert w.data["by_day"][-1]["tokens"] == 1500
        assert {x["workflow"] for x in w.data["by_workflow"]} == {"(outside runs)"}


def test_cost_figure_is_a_static_plot(awb, tmp_path: Path):
    from matplotlib.figure import Figure

    from aios_kernel.widgets import cost_figure

    _approve_invoice_run(awb, "Nordlys", "cost-fig")
    fig = cost_figure(awb, path=tmp_path / "costs.png")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert (tmp_path / "costs.png").stat().st_size > 5_000
    assert "Runs by status" in fig.axes[2].get_title()


@pytest.mark.parametrize("cls", ["TraceTimeline", "CostMeter", "MemoryExplorer"])
def test_every_widget_says_what_to_do_without_a_workspace(cls, tmp_path: Path, monkeypatch, close_widgets):
    import aios_kernel.widgets as widgets

    monkeypatch.setenv("AIOS_WORKSPACE", str(tmp_path / "none"))
    w = getattr(widgets, cls)()
    close_widgets.append(w)
    assert "No workspace is open" in w.error
