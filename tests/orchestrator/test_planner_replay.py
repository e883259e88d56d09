"""Planning goals into workflows, and replaying history."""

from __future__ import annotations

import pytest

from aios_kernel import ValidationError, WorkflowError
from aios_kernel._agents._triage import FindClient
from aios_kernel._orchestrator._planner import GOALS, define_goal

from .conftest import ledger_lines


def test_free_text_goal_maps_to_workflows_with_params(twb):
    plan = twb.plan("triage the inbox and prepare the invoices for October")
    assert [(p.workflow, p.params.get("month")) for p in plan.runs] == [("inbox_triage", None), ("invoicing", "2026-10")]
    assert "rules matched" in plan.runs[0].reason


def test_named_goal_expands_hierarchically_and_submits_once_per_day(twb):
    plan = twb.plan("plan_the_week")
    assert [p.workflow for p in plan.runs] == ["inbox_triage", "meeting_followup", "invoicing", "weekly_content"]
    assert plan.runs[0].path == ["plan_the_week", "daily_ops", "inbox_triage"]
    first = plan.submit()
    again = twb.plan("plan_the_week").submit()
    assert [r.id for r in first] == [r.id for r in again]


def test_goal_cycle_is_refused_and_recorded(twb):
    define_goal("cyc_a", ["cyc_b"])
    define_goal("cyc_b", ["inbox_triage", "cyc_a"])
    try:
        with pytest.raises(WorkflowError, match="goal cycle: cyc_a → cyc_b → cyc_a") as err:
            twb.plan("cyc_a")
        assert twb.get_run(err.value.run_id).status == "failed"
    finally:
        GOALS.pop("cyc_a")
        GOALS.pop("cyc_b")


def test_plan_params_are_validated_and_unmatched_goals_explained(twb):
    with pytest.raises(ValidationError) as err:
        twb.plan("invoicing", month="October")
    assert err.value.field == "month"
    with pytest.raises(WorkflowError, match="no workflow matches 'water the plants'"):
        twb.plan("water the plants")


def test_replay_from_a_checkpoint_reuses_it_and_simulates_effects(twb, fast_ws):
    src = twb.run("invoicing", {"month": "2026-10", "client": "Nordlys"})
    twb.approvals.approve_all()
    twb.run_pending()
    before = ledger_lines(fast_ws)
    replay = twb.replay(src.id, from_step="compute")
    assert replay.status == "succeeded" and replay.mode == "replay"
    steps = replay.task().steps
    assert steps[0]["name"] == "hours" and steps[0]["outputs"] == src.task().steps[0]["outputs"]
    assert [(e["action"], e["status"]) for e in replay.effects] == [
        ("issue_invoice", "simulated"), ("send_email", "simulated"), ("mark_invoice_sent", "simulated")]
    assert ledger_lines(fast_ws) == before
    assert "checkpoint reused" in str(twb.narrative(replay.id))


def test_replay_with_side_effects_only_when_asked(twb, fast_ws):
    src = twb.run("weekly_content", {"week": "2026-W47"})
    twb.approvals.approve_all()
    twb.run_pending()
    live = twb.replay(src.id, from_step="draft", allow_side_effects=True)
    assert live.status == "waiting_approval"  # publishing is reviewed again, even in a replay
    with pytest.raises(ValidationError, match="no step 'nope'"):
        twb.replay(src.id, from_step="nope")


def test_replay_history_through_a_changed_name_normalisation(twb):
    twb.run("inbox_triage", {})
    same = twb.replay_steps("clients", FindClient(), workflow="inbox_triage")
    assert same.examined == 1 and same.changes == []

    def loose(name: str) -> str:  # a "fix" that also matches on the first word only
        return name.lower().split()[0] if name.strip() else ""

    diff = twb.replay_steps("clients", FindClient(normalise=loose), workflow="inbox_triage")
    changed = {c.path for c in diff.changes}
    assert any(p.endswith(".client_id") for p in changed)
    assert "Nordlys Design" in {c.after for c in diff.changes}  # the phishing sender would be taken for a client
    assert diff.frame().height == len(diff.changes)


def test_replay_events_through_a_function(twb):
    diff = twb.replay_events("client.upserted", lambda p: {**p, "row": {**p["row"], "name": p["row"]["name"].upper()}})
    assert diff.examined == diff.changed >= 8
    assert all(c.path == "row.name" for c in diff.changes)
