"""The four demo workflows on the demo business (template tier)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from .conftest import ledger_lines


def test_the_four_workflows_are_registered_and_readable(twb):
    wfs = twb.workflows()
    assert {"inbox_triage", "meeting_followup", "invoicing", "weekly_content"} <= set(wfs)
    text = wfs["invoicing"].describe()
    assert "issue [executor] → issue_invoice via invoices (undo: void_invoice)" in text
    assert "for each invoice in $render.invoices" in text


def test_invoicing_computes_numbers_with_decimal_from_timesheets(twb):
    run = twb.run("invoicing", {"month": "2026-10"})
    invoices = {i["project"]: i for i in run.outputs()["compute"]["invoices"]}
    hours = {r["code"]: Decimal(str(r["h"])) for r in twb.store.query(
        "SELECT p.code, sum(t.hours) AS h FROM time_entries t JOIN projects p ON p.id=t.project_id"
        " WHERE t.date LIKE '2026-10%' GROUP BY p.code")}
    rates = {r["code"]: Decimal(str(r["hourly_rate"])) for r in twb.store.query(
        "SELECT p.code, r.hourly_rate FROM projects p JOIN rates r ON r.key=p.rate_key")}
    assert set(invoices) == set(hours)
    for code, inv in invoices.items():
        assert Decimal(inv["net"]) == (hours[code] * rates[code]).quantize(Decimal("0.01"))
        assert sum(Decimal(line["amount"]) for line in inv["lines"]) == Decimal(inv["net"])
        assert Decimal(inv["total"]) == Decimal(inv["net"]) + Decimal(inv["vat"])
    assert invoices["NRD-01"]["total"] == "3120.00"  # Oslo: outside the EU, no VAT
    assert (invoices["BRW-01"]["net"], invoices["BRW-01"]["vat"]) == ("5400.00", "1026.00")  # Hamburg: 19 %
    assert len(run.tasks) == 1 + len(invoices)


def test_default_invoicing_month_is_the_last_one_that_is_over(twb):
    run = twb.run("invoicing", {})
    assert run.outputs()["hours"]["month"] == "2026-10"


def test_inbox_triage_plans_replies_and_never_answers_spam_or_newsletters(twb):
    run = twb.run("inbox_triage", {})
    out = run.outputs()
    labels = {e["subject"]: out["classify"]["labels"][e["id"]]["label"] for e in out["inbox"]["emails"]}
    assert labels["October invoice – NRD-01"] == "billing"
    assert labels["Invoice portal update – action required for NRD-01"] == "suspicious"
    assert any(v == "newsletter" for v in labels.values()) and any(v == "spam" for v in labels.values())
    replies = out["drafts"]["replies"]
    to = {r["to"] for r in replies if r["needs_reply"]}
    assert "hello@fridaylayout.com" not in to and "ryan@rankboost-pro.biz" not in to
    nordlys = next(r for r in replies if r["subject"].startswith("Re: October invoice"))
    assert nordlys["client_name"] == "Nordlys Design" and "Hi Tone" in nordlys["body"]
    assert not nordlys["subject"].startswith("Re: Re:")
    assert len(twb.approvals.pending()) == len(replies)


def test_second_triage_run_does_not_redo_handled_messages(twb):
    first = twb.run("inbox_triage", {})
    second = twb.run("inbox_triage", {})
    assert len(first.outputs()["inbox"]["emails"]) > 0
    assert second.outputs()["inbox"]["emails"] == [] and second.status == "succeeded"


def test_meeting_followup_drafts_summary_and_action_items(twb):
    run = twb.run("meeting_followup", {"as_of": "2026-11-20"})
    emails = run.outputs()["drafts"]["emails"]
    hallberg = next(e for e in emails if "Showroom visit" in e["title"])
    assert hallberg["to"] == ["katarina@hallberg-sons.co.uk"]
    assert "swatch request log" in hallberg["body"] and "Priya" in hallberg["body"]
    assert hallberg["subject"] == "Summary: Showroom visit Manchester"
    assert {i["owner"] for i in hallberg["action_items"]} >= {"Maja", "Priya", "Katarina"}


def test_weekly_content_is_always_reviewed_before_publishing(twb, fast_ws):
    twb.config.data["policies"]["actions"]["publish_post"] = "auto"
    run = twb.run("weekly_content", {"week": "2026-W47"})
    assert run.status == "waiting_approval" and ledger_lines(fast_ws) == []
    [a] = twb.approvals.pending()
    assert a.action == "publish_post" and a.payload["body"].startswith("# Weekly post")


def test_approve_all_and_resume_apply_each_effect_exactly_once(twb, fast_ws):
    runs = [twb.submit(w, {}, idempotency_key=f"day-{w}") for w in ("inbox_triage", "meeting_followup", "invoicing",
                                                                        "weekly_content")]
    twb.run_pending()
    waiting = len(twb.approvals.pending())
    assert waiting > 10
    twb.approvals.approve_all()
    twb.resume()
    twb.resume()
    assert [r.status for r in runs] == ["succeeded"] * 4
    keys = Counter(line["key"] for line in ledger_lines(fast_ws))
    assert keys and max(keys.values()) == 1
    applied = twb.store.scalar("SELECT count(*) FROM outbox WHERE status='applied'")
    held = [b for b in twb.calendar.busy("2026-11-01", "2027-01-01") if b.uid.startswith("aios-")]
    assert len(held) == len({b.uid for b in held}) == 3  # the three replies that propose times each hold one, once
    # each invoice is issued and marked sent in its ledger; each hold is an event in calendar.ics
    assert applied == len(keys) + 2 * len(twb.invoices.list()) + len(held)


def test_simulate_proposes_effects_and_executes_none(twb, fast_ws):
    run = twb.simulate("invoicing", {"month": "2026-10"})
    assert run.status == "succeeded" and run.mode == "simulate"
    proposed = run.proposed_effects()
    assert len(proposed) == 15 and {e["action"] for e in proposed} == {"issue_invoice", "send_email", "mark_invoice_sent"}
    assert ledger_lines(fast_ws) == [] and twb.approvals.pending() == [] and twb.invoices.list() == []


def test_morning_summary_says_what_is_planned_waiting_and_what_it_cost(twb):
    from aios_kernel.pipelines.demo import summary_lines

    assert any("planned: nothing yet" in line for line in summary_lines(twb))
    twb.plan("daily_ops").run()
    text = "\n".join(summary_lines(twb))
    assert "planned: inbox_triage waiting approval, invoicing waiting approval, meeting_followup waiting approval" in text
    assert "waiting for approval:" in text and "issue_invoice" in text
    first = [line for line in text.splitlines() if line.startswith("    - ")][0]
    assert "flagged: prompt injection" in first  # the phishing message is listed first
    assert "cost:" in text and "model calls" in text
