"""notebooks/workbench_marimo.py under `marimo run`: the inbox renders, a decision re-runs the dependent cell."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import marimo_app
from tests.conftest import REPO
from tests.widgets.conftest import ledger_counts

pytestmark = [pytest.mark.browser, pytest.mark.slow]

APP = REPO / "notebooks" / "workbench_marimo.py"


def pending(page: Any) -> str:
    return page.locator(".aios-decisions .aios-pending").inner_text()


def test_marimo_app_inbox_decision_updates_the_dependent_cell(page, tmp_path, bws, artifacts):
    from aios_kernel import Workbench

    with Workbench.open(bws) as wb:
        waiting = wb.approvals.pending()
    n = len(waiting)
    email = next(a for a in waiting if a.action == "send_email")
    with marimo_app(tmp_path / "marimo", bws, APP) as url:
        page.goto(url)
        page.locator(".aios-inbox .aios-card").first.wait_for(timeout=60_000)
        page.locator(".aios-memory .aios-mem-hit, .aios-memory .aios-empty").first.wait_for(timeout=60_000)
        assert page.locator(".aios-inbox .aios-card").count() == n
        assert pending(page) == f"{n} pending"
        assert "No decision yet" in page.locator(".aios-decisions").inner_text()
        page.locator(".aios-inbox .aios-head").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "marimo_app_initial.png"))

        card = page.locator(f'.aios-inbox .aios-card[data-id="{email.id}"]')
        card.scroll_into_view_if_needed()
        card.get_by_role("button", name="Approve", exact=True).click()
        page.locator(f'.aios-inbox .aios-decided[data-id="{email.id}"]').wait_for(timeout=30_000)
        # the app's background worker sends it; the card follows the effect
        page.locator(f'.aios-inbox .aios-decided[data-id="{email.id}"]').get_by_text("executed via email").wait_for(
            timeout=30_000)
        page.wait_for_function("n => { const e = document.querySelector('.aios-decisions .aios-pending');"
                               " return e && e.textContent === `${n} pending`; }", arg=n - 1, timeout=30_000)
        last = page.locator(".aios-decisions .aios-last").inner_text()
        assert "approved" in last and email.payload["subject"] in last
        page.locator(".aios-decisions").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "marimo_app_after_approve.png"))

        # A decision taken elsewhere reaches the inbox here too (the poll thread sends through marimo).
        other_id = next(a.id for a in waiting if a.id != email.id)
        with Workbench.open(bws) as wb:
            wb.approvals.get(other_id).reject("handled by phone", by="cli")
        page.locator(f'.aios-inbox .aios-decided[data-id="{other_id}"]').wait_for(timeout=15_000)
        assert page.locator(".aios-inbox .aios-count").inner_text() == f"{n - 2} pending"
        # The memory explorer beside it: newest memories, select one to see its provenance and history.
        hits = page.locator(".aios-memory .aios-mem-hit")
        if hits.count() > 1:
            second = hits.nth(1)
            second.scroll_into_view_if_needed()
            mid = second.get_attribute("data-id")
            second.click()
            page.locator(f'.aios-memory .aios-mem-hit.aios-selected[data-id="{mid}"]').wait_for(timeout=15_000)
            page.locator(".aios-memory .aios-mem-detail summary", has_text="History").wait_for(timeout=15_000)
        page.locator(".aios-memory .aios-head").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "marimo_app_memory.png"))
        assert not page.errors, page.errors

    with Workbench.open(bws) as wb:
        assert wb.approvals.get(email.id).status == "approved"
    assert ledger_counts(bws)[email.why["key"]] == 1
