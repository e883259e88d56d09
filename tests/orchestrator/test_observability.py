"""Traces, costs, the narrative, OTel export and the timeline plot."""

from __future__ import annotations

import pytest

from aios_kernel import NotFoundError, ValidationError


@pytest.fixture
def triaged(twb):
    run = twb.run("inbox_triage", {"limit": 5})
    return twb, run


def test_trace_has_run_task_step_model_and_connector_spans(triaged):
    wb, run = triaged
    a = wb.approvals.pending()[0]
    a.approve()
    wb.run_pending()
    df = wb.trace(run.id)
    assert {"run", "task", "step", "model", "connector"} <= set(df["kind"].to_list())
    for col in ("id", "trace_id", "parent_id", "start_at", "end_at", "status", "agent", "agent_version", "tokens_in",
                "tokens_out", "cost", "input_ref", "output_ref", "duration_s"):
        assert col in df.columns
    assert set(df["trace_id"].to_list()) == {run.id}
    ids = set(df["id"].to_list())
    assert all(p in ids for p in df.filter(df["kind"] != "run")["parent_id"].to_list())
    models = df.filter(df["kind"] == "model")
    assert set(models["tier"].to_list()) >= {"router", "template"}


def test_costs_by_workflow_and_day(triaged):
    wb, run = triaged
    by_wf = wb.costs()
    assert by_wf.columns[:2] == ["workflow", "calls"]
    assert "inbox_triage" in by_wf["workflow"].to_list()
    by_day = wb.costs(by="day")
    assert by_day.height >= 1 and by_day["calls"].sum() == by_wf["calls"].sum()
    with pytest.raises(ValidationError, match="must be one of"):
        wb.costs(by="week")


def test_narrative_says_who_what_why_with_evidence(triaged):
    wb, run = triaged
    story = wb.narrative(run.id)
    text = str(story)
    assert "operator: started inbox_triage" in text
    assert "triage.classify@2" in text and "policy: asks you" in text and "because" in text
    assert any(line.evidence for line in story)
    assert "<ol" in story._repr_html_()


def test_otel_export_is_otlp_json(triaged, tmp_path):
    wb, run = triaged
    doc = wb.export_otel(run.id, tmp_path / "trace.json")
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(spans) == wb.trace(run.id).height
    assert all(len(s["traceId"]) == 32 and len(s["spanId"]) == 16 for s in spans)
    assert len({s["traceId"] for s in spans}) == 1
    ids = {s["spanId"] for s in spans}
    assert all(s["parentSpanId"] in ids for s in spans if s["parentSpanId"])
    assert all(int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]) for s in spans)
    assert (tmp_path / "trace.json").stat().st_size > 100


def test_timeline_plot_is_written(triaged, tmp_path):
    wb, run = triaged
    fig = wb.timeline(run.id, tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert fig.axes[0].get_xlabel() == "seconds since the run started"


def test_trace_of_unknown_run_is_a_clear_error(twb):
    with pytest.raises(NotFoundError, match="no run 'run_nope'"):
        twb.trace("run_nope")
