"""The approval inbox's model: cards, decisions through the same requests the buttons send, the poll."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.widgets.conftest import ledger_counts, ledger_lines, make_fast


def _inbox(wb, made, **kw):
    from aios_kernel.widgets import ApprovalInbox

    w = ApprovalInbox(wb, live=kw.pop("live", False), **kw)
    made.append(w)
    return w


def _first(w, fmt):
    return next(c for c in w.items if c["format"] == fmt)


def _click(w, op, **args):
    """What the front-end does: set the synced ``request`` trait; then the worker carries the run on and the poll shows it."""
    nonce = f"n{time.monotonic_ns()}"
    w.request = {"op": op, "nonce": nonce, **args}
    assert w.reply["nonce"] == nonce
    reply = w.reply
    worker = getattr(w.wb, "worker", None)
    if worker is not None and worker.running:
        assert worker.wait_idle(60)
        w.poll()
    return reply


def test_one_card_per_pending_approval_with_what_why_evidence_cost(awb, close_widgets):
    w = _inbox(awb, close_widgets)
    pending = awb.approvals.pending()
    assert {c["id"] for c in w.items} == {a.id for a in pending}
    assert w.pending_count == len(pending) > 5
    formats = {c["format"] for c in w.items}
    assert {"email", "invoice", "quarantine"} <= formats
    email = _first(w, "email")
    assert email["payload"]["subject"] and email["payload"]["body"] and email["payload"]["to"]
    assert {f["name"] for f in email["fields"]} == {"to", "subject", "body"}
    assert email["why"]["agent"] and email["why"]["reasons"] and email["workflow"] == "inbox_triage"
    assert "cost" in email and "run" in email["cost"]
    invoice = _first(w, "invoice")
    assert invoice["payload"]["lines"] and invoice["payload"]["total"]
    # amounts are computed from the records: never offered for editing
    assert not {"total", "lines", "number", "currency"} & {f["name"] for f in invoice["fields"]}
    quarantine = _first(w, "quarantine")
    assert quarantine["untrusted"] and quarantine["flagged"]
    assert any(e["untrusted"] and "prompt_injection" in e["flags"] for e in quarantine["evidence"])
    # each flag shows why it was raised: the layer, the rule and the words
    flagged_ev = next(e for e in quarantine["evidence"] if e["flags"])
    assert "prompt injection (rules" in flagged_ev["why"] and "possible fraud (fraud)" in flagged_ev["why"]
    # a plain reply quotes outside content too, but nothing in it was flagged
    assert email["untrusted"] and not email["flagged"]
    json.dumps([w.items, w.decided, w.last_decision])  # what the front-end receives is plain JSON


def test_approve_records_the_decision_and_executes_exactly_once(awb, aws, close_widgets):
    w = _inbox(awb, close_widgets)
    card = _first(w, "email")
    key = card["why"]["key"]
    assert ledger_counts(aws)[key] == 0
    reply = _click(w, "approve", id=card["id"])
    assert reply["ok"], reply
    a = awb.approvals.get(card["id"])
    assert a.status == "approved" and a.decided_by == "operator"
    assert ledger_counts(aws)[key] == 1
    assert card["id"] not in {c["id"] for c in w.items}
    done = w.card(card["id"])
    assert done["status"] == "approved" and done["effect"]["status"] == "applied" and done["effect"]["line"] >= 1
    assert w.last_decision["id"] == card["id"] and w.last_decision["decision"] == "approve"
    # A second click (a stale front-end) is refused and shown; nothing runs twice.
    again = _click(w, "approve", id=card["id"])
    assert not again["ok"] and again["error_type"] == "StateError"
    assert "not applied again" in w.card(card["id"])["error"]
    awb.run_pending()
    assert ledger_counts(aws)[key] == 1


def test_reject_needs_a_reason_and_executes_nothing(awb, aws, close_widgets):
    w = _inbox(awb, close_widgets)
    card = _first(w, "email")
    no_reason = _click(w, "reject", id=card["id"], reason="  ")
    assert not no_reason["ok"] and no_reason["field"] == "reason"
    assert w.card(card["id"])["error_field"] == "reason"
    assert awb.approvals.get(card["id"]).status == "pending"
    ok = _click(w, "reject", id=card["id"], reason="I will call her instead")
    assert ok["ok"]
    a = awb.approvals.get(card["id"])
    assert a.status == "rejected" and a.reason == "I will call her instead"
    awb.run_pending()
    assert ledger_counts(aws)[card["why"]["key"]] == 0
    assert w.card(card["id"])["effect"] is None and w.card(card["id"])["error"] == ""


def test_edit_then_approve_executes_the_edited_version(awb, aws, close_widgets):
    w = _inbox(awb, close_widgets)
    card = _first(w, "email")
    # the form sends every field; unchanged ones are not edits
    reply = _click(w, "edit", id=card["id"], edits={"subject": "Re: Checked and confirmed", "body": "Dear client,\n\nConfirmed.\n",
                                                   "to": ", ".join(card["payload"]["to"])})
    assert reply["ok"], reply
    a = awb.approvals.get(card["id"])
    assert a.status == "approved" and a.edits == {"subject": "Re: Checked and confirmed", "body": "Dear client,\n\nConfirmed.\n"}
    sent = [e for e in ledger_lines(aws) if e["key"] == card["why"]["key"]]
    assert len(sent) == 1
    assert sent[0]["payload"]["subject"] == "Re: Checked and confirmed" and sent[0]["payload"]["body"] == "Dear client,\n\nConfirmed.\n"
    assert w.card(card["id"])["edits"] == a.edits


@pytest.mark.parametrize("edits, field", [
    ({"to": "not an address"}, "to"),
    ({"subject": ""}, "subject"),
    ({"total": "1.00"}, "total"),
    ({"in_reply_to": "<x@y>"}, "in_reply_to"),
], ids=["bad-address", "empty-subject", "money-field", "reference-field"])
def test_an_edit_that_fails_validation_shows_on_the_card_and_runs_nothing(awb, aws, close_widgets, edits, field):
    w = _inbox(awb, close_widgets)
    card = _first(w, "email")
    before = ledger_counts(aws)
    reply = _click(w, "edit", id=card["id"], edits=edits)
    assert not reply["ok"] and reply["field"] == field
    shown = w.card(card["id"])
    assert shown["status"] == "pending" and shown["error_field"] == field and shown["error"]
    assert awb.approvals.get(card["id"]).status == "pending"
    assert ledger_counts(aws) == before
    # the error goes away once a decision succeeds
    assert _click(w, "approve", id=card["id"])["ok"]
    assert w.card(card["id"])["error"] == ""


def test_invoice_due_date_edit_is_checked_and_recorded(awb, aws, close_widgets):
    w = _inbox(awb, close_widgets)
    card = _first(w, "invoice")
    bad = _click(w, "edit", id=card["id"], edits={"due_date": "next Friday"})
    assert not bad["ok"] and bad["field"] == "due_date"
    ok = _click(w, "edit", id=card["id"], edits={"due_date": "2026-12-01"})
    assert ok["ok"]
    issued = [i for i in awb.invoices.list() if i.key == card["why"]["key"]]
    assert len(issued) == 1 and issued[0].due_date == "2026-12-01" and issued[0].status == "sent"
    # the covered e-mail that sends the invoice ran too, once
    run_keys = [k for k in ledger_counts(aws) if k.startswith(card["why"]["key"].rsplit("/", 1)[0])]
    assert sorted(k.rsplit("/", 1)[1] for k in run_keys) == ["send"]


def test_defer_keeps_the_card_open_and_decidable(awb, close_widgets):
    w = _inbox(awb, close_widgets)
    card = _first(w, "invoice")
    n = w.pending_count
    assert _click(w, "defer", id=card["id"])["ok"]
    assert w.pending_count == n - 1 and w.deferred_count == 1
    assert w.card(card["id"])["status"] == "deferred"
    assert awb.approvals.get(card["id"]).status == "deferred"
    assert _click(w, "reject", id=card["id"], reason="client asked to wait until December")["ok"]
    assert w.deferred_count == 0 and w.card(card["id"])["status"] == "rejected"


def test_a_decision_made_elsewhere_reaches_the_widget_and_is_not_applied_twice(awb, aws, close_widgets):
    from aios_kernel import Workbench

    w = _inbox(awb, close_widgets)
    card = _first(w, "email")
    with Workbench.open(aws) as other:  # another notebook, the CLI or a headless run
        other.approvals.get(card["id"]).approve(by="cli")
        other.run_pending()
    assert ledger_counts(aws)[card["why"]["key"]] == 1
    # the widget has not looked yet: a click on the stale card is refused, not applied again
    stale = _click(w, "approve", id=card["id"])
    assert not stale["ok"] and "already approved" in stale["message"]
    assert w.card(card["id"])["status"] == "approved" and w.card(card["id"])["decided_by"] == "cli"
    assert ledger_counts(aws)[card["why"]["key"]] == 1
    # and one more decided elsewhere shows up on the next poll
    other_card = _first(w, "invoice")
    with Workbench.open(aws) as other:
        other.approvals.get(other_card["id"]).reject("not this month", by="cli")
    assert w.poll() is True
    assert w.card(other_card["id"])["status"] == "rejected"
    assert other_card["id"] not in {c["id"] for c in w.items}
    assert w.last_decision["id"] == other_card["id"] and w.last_decision["by"] == "cli"
    assert w.poll() is False  # nothing new: no refresh


def test_the_background_poll_follows_the_store_without_rerunning_anything(awb, aws, close_widgets):
    from aios_kernel import Workbench

    w = _inbox(awb, close_widgets, live=True, poll_s=0.1)
    assert w.live
    card = _first(w, "invoice")
    with Workbench.open(aws) as other:
        other.approvals.get(card["id"]).approve(by="cli")
    deadline = time.monotonic() + 10
    while card["id"] in {c["id"] for c in w.items} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert card["id"] not in {c["id"] for c in w.items}
    assert w.card(card["id"])["status"] == "approved"
    w.close()
    from aios_kernel.widgets._poll import POLLER

    assert w not in POLLER


def test_budget_options_are_chosen_by_name(demo_ws: Path, close_widgets):
    from aios_kernel import Workbench

    make_fast(demo_ws, "\n[budgets.workflows.weekly_content]\ntokens = 0\n")
    with Workbench.open(demo_ws) as wb:
        run = wb.submit("weekly_content", {}, idempotency_key="budget")
        wb.run_pending()
        wb.worker.start()
        w = _inbox(wb, close_widgets)
        card = next(c for c in w.items if c["kind"] == "budget")
        assert card["format"] == "budget" and [o["id"] for o in card["options"]] == ["continue", "stop"]
        assert card["payload"]["breaches"][0]["measure"] == "tokens"
        bad = _click(w, "choose", id=card["id"], option="maybe")
        assert not bad["ok"] and bad["field"] == "option"
        assert _click(w, "choose", id=card["id"], option="continue")["ok"]
        assert wb.approvals.get(card["id"]).choice == "continue"
        # the run went on past the budget gate, to the post that waits for review
        assert [a.action for a in wb.approvals.pending() if a.run_id == run.id] == ["publish_post"]
        assert w.card(card["id"])["status"] == "chosen" and "publish_post" in {c["action"] for c in w.items}


def test_unknown_approval_and_unknown_operation_are_errors_not_tracebacks(awb, close_widgets):
    w = _inbox(awb, close_widgets)
    missing = _click(w, "approve", id="ap_missing")
    assert not missing["ok"] and missing["error_type"] == "NotFoundError"
    odd = _click(w, "launch", id="x")
    assert not odd["ok"] and "no operation" in odd["message"]


def test_without_a_workspace_the_widget_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, close_widgets):
    from aios_kernel.widgets import ApprovalInbox

    monkeypatch.setenv("AIOS_WORKSPACE", str(tmp_path / "nowhere"))
    w = ApprovalInbox()
    close_widgets.append(w)
    assert "No workspace is open" in w.error and "%aios open" in w.error
    assert w.items == [] and not w.live
    reply = _click(w, "approve", id="ap_x")
    assert not reply["ok"] and "No workspace" in reply["message"]
    assert "No workspace" in repr(w)


def test_the_inbox_of_the_current_workbench(awb, close_widgets):
    from aios_kernel._workbench import set_current
    from aios_kernel.widgets import ApprovalInbox, inbox

    set_current(awb)
    try:
        w = inbox(live=False)
    finally:
        set_current(None)
    close_widgets.append(w)
    assert isinstance(w, ApprovalInbox) and w.wb is awb and w.pending_count == len(awb.approvals.pending())


def test_a_widget_whose_workbench_was_closed_says_so(aws, close_widgets):
    from aios_kernel import Workbench

    wb = Workbench.open(aws)
    w = _inbox(wb, close_widgets)
    card = _first(w, "email")
    wb.close()  # e.g. `%aios open OTHER` replaced the kernel's workbench
    reply = _click(w, "approve", id=card["id"])
    assert not reply["ok"] and "is closed" in reply["message"] and "Traceback" not in reply["message"]


def test_a_long_inbox_sends_a_bounded_number_of_cards(awb, close_widgets, monkeypatch):
    from aios_kernel.widgets import _inbox as inbox_module

    monkeypatch.setattr(inbox_module, "MAX_CARDS", 3)
    w = _inbox(awb, close_widgets)
    n = len(awb.approvals.pending())
    assert len(w.items) == 3 and w.more == n - 3 and w.pending_count == n
    assert [c["id"] for c in w.items] == [a.id for a in awb.approvals.pending()[:3]]
