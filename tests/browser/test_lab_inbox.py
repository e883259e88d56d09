"""notebooks/inbox.ipynb in JupyterLab: run it, decide on cards, check the store and the ledger, restart."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import jupyter_lab
from tests.conftest import REPO
from tests.widgets.conftest import ledger_counts, ledger_lines

pytestmark = [pytest.mark.browser, pytest.mark.slow]

INBOX = REPO / "notebooks" / "inbox.ipynb"


def run_all(page: Any) -> None:
    page.locator("li.lm-MenuBar-item", has_text="Run").click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def card(page: Any, approval_id: str) -> Any:
    return page.locator(f'.aios-inbox .aios-card[data-id="{approval_id}"]')


def decided(page: Any, approval_id: str) -> Any:
    return page.locator(f'.aios-inbox .aios-decided[data-id="{approval_id}"]')


def pending_by_format(ws: Path) -> dict[str, list[Any]]:
    from aios_kernel import Workbench
    from aios_kernel.widgets._cards import action_format

    out: dict[str, list[Any]] = {}
    with Workbench.open(ws) as wb:
        for a in wb.approvals.pending():
            out.setdefault(action_format(a.kind, a.action, a.payload), []).append(a)
    return out


def notebook_cells(page: Any) -> int:
    return page.locator(".jp-Notebook .jp-Cell").count()


def test_inbox_notebook_decisions_execute_once_and_survive_a_restart(page, tmp_path, bws, artifacts):
    with jupyter_lab(tmp_path / "lab", bws, [INBOX]) as lab:
        lab.open(page, "inbox.ipynb")
        cells = notebook_cells(page)
        run_all(page)
        page.locator(".aios-inbox .aios-card").first.wait_for(timeout=90_000)
        page.get_by_text(lab_idle := "Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
        by_format = pending_by_format(bws)
        invoices, emails, holds = by_format["invoice"], by_format["email"], by_format["calendar"]
        assert len(invoices) >= 2 and len(emails) >= 2 and len(holds) >= 2, \
            "the notebook and the fixture should have left work to decide"
        total = sum(len(v) for v in by_format.values())
        assert page.locator(".aios-inbox .aios-card").count() == total
        assert page.locator(".aios-inbox .aios-count").inner_text() == f"{total} pending"

        first = card(page, invoices[0].id)
        first.scroll_into_view_if_needed()
        assert first.get_by_role("button", name="Approve", exact=True).is_visible()
        assert first.get_by_role("button", name="Reject", exact=True).is_visible()
        assert first.get_by_role("button", name="Edit", exact=True).is_visible()
        assert first.get_by_role("button", name="Defer", exact=True).is_visible()
        assert "2026-10-" in first.locator(".aios-what").inner_text() and "numbered when issued" in first.locator(".aios-what").inner_text()
        page.screenshot(path=str(artifacts / "lab_inbox_initial.png"))
        first.screenshot(path=str(artifacts / "lab_inbox_card_invoice.png"))

        # 1. Approve an invoice: it is issued and (covered by that approval) e-mailed, by the kernel's
        #    background worker (the click only records the decision); the card follows the effect.
        first.get_by_role("button", name="Approve", exact=True).click()
        decided(page, invoices[0].id).wait_for(timeout=30_000)
        decided(page, invoices[0].id).get_by_text("executed via invoices").wait_for(timeout=30_000)

        # 2. Reject an e-mail with a reason; first without one: the card says what is missing.
        rej = card(page, emails[0].id)
        rej.scroll_into_view_if_needed()
        rej.get_by_role("button", name="Reject", exact=True).click()
        rej.locator(".aios-reason-input").wait_for()
        rej.locator('button[data-action="confirm-reject"]').click()
        rej.locator(".aios-card-error").wait_for(timeout=15_000)
        assert "say why" in rej.locator(".aios-card-error").inner_text()
        rej.locator(".aios-reason-input").fill("I will answer this one myself")
        rej.screenshot(path=str(artifacts / "lab_inbox_reject_reason.png"))
        rej.locator('button[data-action="confirm-reject"]').click()
        decided(page, emails[0].id).wait_for(timeout=30_000)

        # 3. Edit an e-mail, then approve: a bad address is refused on the card, then the edit runs.
        ed = card(page, emails[1].id)
        ed.scroll_into_view_if_needed()
        ed.get_by_role("button", name="Edit", exact=True).click()
        ed.locator('[data-field="subject"]').wait_for()
        ed.locator('[data-field="to"]').fill("somebody at nowhere")
        ed.get_by_role("button", name="Approve edited", exact=True).click()
        ed.locator(".aios-card-error").wait_for(timeout=15_000)
        assert "not an e-mail address" in ed.locator(".aios-card-error").inner_text()
        assert ledger_counts(bws)[emails[1].why["key"]] == 0
        ed.locator('[data-field="to"]').fill(", ".join(emails[1].payload["to"]))
        ed.locator('[data-field="subject"]').fill("Re: Edited in the inbox")
        ed.locator('[data-field="body"]').fill("Thanks, confirmed.\n\nMaja")
        ed.screenshot(path=str(artifacts / "lab_inbox_edit.png"))
        ed.get_by_role("button", name="Approve edited", exact=True).click()
        decided(page, emails[1].id).get_by_text("executed via email").wait_for(timeout=30_000)

        # 4. Keyboard: select a card, then "d" defers it; JupyterLab's own "d"/"a" shortcuts stay out of it.
        kb = card(page, holds[0].id)
        kb.scroll_into_view_if_needed()
        kb.locator(".aios-card-title").click()
        page.keyboard.press("d")
        page.wait_for_function(
            "id => [...document.querySelectorAll('.aios-card')].some(c => c.dataset.id === id && c.classList.contains('aios-card-deferred'))",
            arg=holds[0].id, timeout=15_000)
        # ... and "a" takes the selected card's first option (in command mode JupyterLab would insert a cell above):
        # a reply proposing times holds the first one in the calendar, then goes out under the same decision
        kb2 = card(page, holds[1].id)
        kb2.scroll_into_view_if_needed()
        first_time = holds[1].options[0]["label"]
        assert kb2.get_by_role("button", name=first_time, exact=True).is_visible()
        assert "I have reserved" in kb2.locator(".aios-sends").inner_text()  # the reply, as it goes out, beside the hold
        kb2.locator(".aios-card-title").click()
        kb2.screenshot(path=str(artifacts / "lab_inbox_card_hold.png"))
        page.keyboard.press("a")
        decided(page, holds[1].id).get_by_text("executed via calendar").wait_for(timeout=30_000)
        assert notebook_cells(page) == cells  # no cell was inserted or deleted by the keys

        # 5. A decision taken elsewhere shows up without re-running anything.
        from aios_kernel import Workbench

        with Workbench.open(bws) as other:
            other.approvals.get(invoices[1].id).reject("decided in another notebook", by="cli")
        decided(page, invoices[1].id).wait_for(timeout=15_000)
        assert "Rejected" in decided(page, invoices[1].id).inner_text()
        page.locator(".aios-inbox").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "lab_inbox_after_decisions.png"))
        page.locator(".aios-inbox .aios-decided-list").screenshot(path=str(artifacts / "lab_inbox_decided.png"))
        assert not page.errors, page.errors

        # The store and the ledger, read from outside the kernel.
        with Workbench.open(bws) as wb:
            a_inv, a_rej, a_edit, a_def = (wb.approvals.get(x.id) for x in (invoices[0], emails[0], emails[1], holds[0]))
            assert (a_inv.status, a_inv.decided_by) == ("approved", "operator")
            assert (a_rej.status, a_rej.reason) == ("rejected", "I will answer this one myself")
            assert a_edit.status == "approved" and a_edit.edits == {"subject": "Re: Edited in the inbox",
                                                                     "body": "Thanks, confirmed.\n\nMaja"}
            assert a_def.status == "deferred"
            held = wb.approvals.get(holds[1].id)
            assert (held.status, held.choice) == ("chosen", holds[1].options[0]["id"])
            [event] = [b for b in wb.calendar.busy("2026-11-01", "2027-01-01") if b.uid.startswith("aios-")]
            assert event.start == datetime.fromisoformat(holds[1].options[0]["payload"]["start"])
        counts = ledger_counts(bws)
        issue_key = invoices[0].why["key"]
        with Workbench.open(bws) as wb:
            assert [i.key for i in wb.invoices.list()] == [issue_key]  # issued once, in the invoice ledger
        assert counts[issue_key.rsplit("/", 1)[0] + "/send"] == 1  # the invoice e-mail, covered by the approval
        reply_key = holds[1].why["key"].rsplit("/", 1)[0] + "/send"  # the reply, covered by the hold's decision
        assert counts[emails[1].why["key"]] == 1 and counts[reply_key] == 1
        assert "I have reserved" in next(e for e in ledger_lines(bws) if e["key"] == reply_key)["payload"]["body"]
        assert counts[emails[0].why["key"]] == 0 and counts[invoices[1].why["key"]] == 0
        assert counts[holds[0].why["key"].rsplit("/", 1)[0] + "/send"] == 0
        assert max(counts.values()) == 1
        edited = next(e for e in ledger_lines(bws) if e["key"] == emails[1].why["key"])
        assert edited["payload"]["subject"] == "Re: Edited in the inbox"

        # Restart the kernel and show the inbox again: decided cards are gone, the rest remain.
        # The inbox on the page now is marked stale, so the wait below is for the one the new kernel draws.
        page.evaluate("() => document.querySelectorAll('.aios-inbox').forEach(e => { e.dataset.stale = '1'; })")
        page.locator("li.lm-MenuBar-item", has_text="Kernel").click()
        page.get_by_role("menuitem", name="Restart Kernel and Run All Cells…").click()
        page.locator(".jp-Dialog button.jp-mod-accept", has_text="Restart").click()
        gone = {invoices[0].id, invoices[1].id, emails[0].id, emails[1].id, holds[1].id}
        still = {a.id for fmt in by_format.values() for a in fmt} - gone
        page.wait_for_function("n => { const fresh = [...document.querySelectorAll('.aios-inbox')].filter(e => !e.dataset.stale);"
                               " return fresh.length > 0 && fresh[0].querySelectorAll('.aios-card').length === n; }",
                               arg=len(still), timeout=90_000)
        page.get_by_text(lab_idle).wait_for(timeout=90_000)
        shown = set(page.locator(".aios-inbox:not([data-stale]) .aios-card").evaluate_all("cs => cs.map(c => c.dataset.id)"))
        assert not shown & gone
        assert shown == still  # including the deferred one
        assert page.locator(".aios-inbox .aios-decided").count() == 0
        assert ledger_counts(bws) == counts  # running the notebook again executed nothing again
        page.locator(".aios-inbox .aios-head").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "lab_inbox_after_restart.png"))
        assert not page.errors, page.errors
