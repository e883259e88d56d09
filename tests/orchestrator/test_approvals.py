"""Policy and approvals: graded autonomy, always-reviewed kinds, budgets, decisions applied once."""

from __future__ import annotations

import pytest

from aios_kernel import AgentResult, Evidence, StateError, Step, ValidationError
from aios_kernel._policy import category, decide

from .conftest import ledger_lines
from .helpers import agent, define, render_effect


def test_money_legal_publishing_are_reviewed_whatever_the_config_says(twb):
    cfg = twb.config
    for action in ("issue_invoice", "sign_contract", "publish_post"):
        cfg.data["policies"]["actions"][action] = "auto"
        d = decide(cfg, action)
        assert d.mode == "review" and "always reviewed" in " ".join(d.reasons)
    assert category("send_email") is None
    cfg.data["policies"]["actions"]["send_email"] = "auto"
    assert decide(cfg, "send_email", confidence=0.9).automatic
    low = decide(cfg, "send_email", confidence=0.3)
    assert low.mode == "review" and "below min_confidence" in " ".join(low.reasons)
    assert decide(cfg, "send_email", untrusted=True).mode == "review"


def test_an_approval_carries_what_why_evidence_cost_and_options(twb):
    run = twb.run("invoicing", {"month": "2026-10", "client": "Nordlys"})
    assert run.status == "waiting_approval"
    [a] = twb.approvals.pending()
    assert a.kind == "action" and a.action == "issue_invoice"
    assert a.payload["ref"] == "2026-10-NRD-01" and a.payload["total"] == "3120.00" and "number" not in a.payload
    assert "draft 2026-10-NRD-01" in a.payload["document"]  # numbered when issued
    assert a.why["agent"] == "executor@1" and a.why["key"].endswith("invoice:2026-10-NRD-01/issue")
    assert any("always reviewed" in r for r in a.why["policy"]["reasons"])
    assert a.evidence and a.evidence[0]["source"] == "timesheets + rate card"
    assert set(a.cost) == {"run", "step"}
    assert "Issue the invoice" in str(a) and "<table>" in a._repr_html_()


def test_deciding_twice_is_refused_and_the_effect_happens_once(twb, fast_ws):
    run = twb.run("invoicing", {"month": "2026-10", "client": "Nordlys"}, idempotency_key="nordlys-oct")
    [a] = twb.approvals.pending()
    a.approve()
    with pytest.raises(StateError, match="already approved"):
        a.approve()
    with pytest.raises(StateError):
        twb.approvals.get(a.id).reject("too late")
    twb.run_pending()
    twb.run_pending()
    assert run.status == "succeeded"
    [issued] = twb.invoices.list()
    assert issued.key == "nordlys-oct/invoice:2026-10-NRD-01/issue" and issued.status == "sent"
    lines = ledger_lines(fast_ws)
    assert [line["key"] for line in lines] == ["nordlys-oct/invoice:2026-10-NRD-01/send"]
    assert lines[0]["payload"]["to"] == ["accounts@nordlys.no"]
    assert lines[0]["payload"]["attachments"] == [{"path": issued.pdf, "sha256": issued.pdf_sha256}]


def test_edits_change_text_but_never_computed_money(twb, fast_ws):
    twb.run("invoicing", {"month": "2026-10", "client": "Nordlys"})
    [a] = twb.approvals.pending()
    with pytest.raises(ValidationError, match="computed") as err:
        a.approve(edits={"total": "1.00"})
    assert err.value.field == "total"
    with pytest.raises(ValidationError, match="no payload field"):
        a.approve(edits={"colour": "red"})
    a.approve(edits={"period": "October 2026 (corrected)"})
    twb.run_pending()
    [issued] = twb.invoices.list()
    assert issued.document["period"] == "October 2026 (corrected)" and issued.total == "3120.00"


def test_reject_cancels_the_task_and_nothing_is_sent(twb, fast_ws):
    run = twb.run("invoicing", {"month": "2026-10", "client": "Nordlys"})
    twb.approvals.pending()[0].reject("wrong month")
    twb.run_pending()
    assert run.status == "cancelled"
    task = run.task("invoice:2026-10-NRD-01")
    assert "wrong month" in task.error
    assert ledger_lines(fast_ws) == [] and twb.invoices.list() == []
    assert [d["status"] for d in twb.invoices.drafts()] == ["rejected"]


def test_defer_hides_an_approval_until_its_time(twb):
    twb.run("invoicing", {"month": "2026-10", "client": "Nordlys"})
    a = twb.approvals.pending()[0]
    a.defer(until="2999-01-01T00:00:00Z")
    assert twb.approvals.pending() == []
    assert [x.id for x in twb.approvals.pending(include_deferred=True)] == [a.id]
    a.approve()
    assert twb.approvals.get(a.id).status == "approved"


def test_budget_of_zero_pauses_the_run_with_a_continue_or_stop_approval(twb):
    twb.config.data["budgets"]["workflows"]["inbox_triage"] = {"tokens": 0, "seconds": 900.0, "money": 2.0}
    run = twb.run("inbox_triage", {"limit": 3})
    assert run.status == "waiting_approval"
    [a] = twb.approvals.pending()
    assert a.kind == "budget" and [o["id"] for o in a.options] == ["continue", "stop"]
    assert "budget for tokens is 0" in " ".join(a.why["policy"]["reasons"])
    assert "paused" in run.waiting_on[0]
    assert twb.trace(run.id).filter(twb.trace(run.id)["status"] == "waiting").height >= 1
    a.choose("continue")
    twb.run_pending()
    assert run.status == "waiting_approval"  # now for the replies, not the budget
    assert all(x.kind == "action" for x in twb.approvals.pending())


def test_stop_at_a_budget_cancels_the_run(twb):
    twb.config.data["budgets"]["daily_money"] = 0.0
    run = twb.run("meeting_followup", {"as_of": "2026-11-20"})
    [a] = twb.approvals.pending()
    a.reject("not today")
    twb.run_pending()
    assert run.status == "cancelled" and "budget" in run.task().error


def test_flagged_email_is_never_acted_on_and_shows_as_untrusted(twb, fast_ws):
    twb.config.data["policies"]["actions"]["send_email"] = "auto"
    twb.config.data["policies"]["actions"]["quarantine_email"] = "auto"
    twb.config.data["policies"]["min_confidence"] = 0.0
    run = twb.run("inbox_triage", {})
    flagged = [a for a in twb.approvals.pending() if a.action == "quarantine_email"]
    assert len(flagged) == 1 and flagged[0].untrusted
    assert "prompt injection" in " ".join(flagged[0].why["policy"]["reasons"])
    sent = [line["payload"] for line in ledger_lines(fast_ws)]
    assert sent and all("fastpay" not in str(p) and "nordlys-no.com" not in str(p) for p in sent)
    drafts = run.outputs()["drafts"]["replies"]
    phishing = next(d for d in drafts if d.get("flagged"))
    assert not phishing["needs_reply"] and "body" not in phishing
    assert phishing["evidence"][0]["untrusted"] and "prompt_injection" in phishing["evidence"][0]["flags"]


def test_options_approval_picks_one_payload(twb, fast_ws):
    def offer(ctx):  # type: ignore[no-untyped-def]
        return AgentResult({"payload": {"text": "A"}, "title": "pick a text",
                            "options": [{"id": "a", "label": "A", "payload": {"text": "A"}},
                                        {"id": "b", "label": "B", "payload": {"text": "B"}},
                                        {"id": "none", "label": "neither", "effect": False}]},
                           evidence=[Evidence("artifact:x", "x", "test")])

    agent("t.offer", offer)
    twb.config.data["policies"]["actions"]["t_pick"] = "options"
    define("t_options", [Step("pick", "t.offer", action="t_pick")])
    twb.run("t_options")
    a = twb.approvals.pending()[0]
    with pytest.raises(ValidationError, match="no option"):
        a.choose("c")
    a.choose("b")
    twb.run_pending()
    assert [line["payload"] for line in ledger_lines(fast_ws)] == [{"text": "B"}]


def test_low_confidence_goes_to_review_even_when_auto(twb, fast_ws):
    agent("t.unsure", lambda ctx: AgentResult({"payload": {"x": 1}, "title": "unsure"}, confidence=0.2))
    twb.config.data["policies"]["actions"]["t_auto"] = "auto"
    define("t_unsure", [Step("do", "t.unsure", action="t_auto")])
    run = twb.run("t_unsure")
    assert run.status == "waiting_approval" and ledger_lines(fast_ws) == []
    agent("t.sure", render_effect)
    define("t_sure", [Step("do", "t.sure", action="t_auto")])
    assert twb.run("t_sure").status == "succeeded" and len(ledger_lines(fast_ws)) == 1
