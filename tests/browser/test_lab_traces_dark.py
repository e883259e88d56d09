"""notebooks/traces.ipynb and the inbox in JupyterLab's dark theme: timeline, span detail, cost meter, readable."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import jupyter_lab
from tests.browser.test_lab_inbox import run_all
from tests.conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRACES = REPO / "notebooks" / "traces.ipynb"
INBOX = REPO / "notebooks" / "inbox.ipynb"

LUMA = """e => { const s = getComputedStyle(e);
  const lum = c => { const m = c.match(/[\\d.]+/g).map(Number); const k = c.startsWith("color(") ? 1 : 255;
    return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / k; };
  return [lum(s.backgroundColor), lum(s.color)]; }"""


def contrast(page: Any, selector: str) -> tuple[float, float]:
    bg, fg = page.locator(selector).first.evaluate(LUMA)
    return bg, fg


def test_traces_and_inbox_render_readably_in_the_dark_theme(page, tmp_path, bws, artifacts):
    with jupyter_lab(tmp_path / "lab", bws, [TRACES, INBOX], theme="JupyterLab Dark") as lab:
        lab.open(page, "traces.ipynb")
        run_all(page)
        timeline = page.locator(".aios-trace").first
        timeline.locator(".aios-tl-row[data-kind='connector']").first.wait_for(timeout=90_000)
        page.locator(".aios-costs").first.wait_for(timeout=90_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)

        # the approved run: connector calls succeeded; click one to see what it did
        issue = timeline.locator(".aios-tl-row[data-kind='connector']", has_text="issue_invoice")
        assert issue.get_attribute("data-status") == "ok"
        issue.click()
        detail = timeline.locator(".aios-tl-detail")
        detail.locator("summary", has_text="input").wait_for(timeout=15_000)
        assert "2026-10-NRD-01" in detail.inner_text() and "side effect" in detail.inner_text()
        timeline.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "lab_dark_trace_timeline.png"))

        # the rejected run: its step shows as rejected at a glance
        rejected = page.locator(".aios-trace").nth(1)
        rejected.locator(".aios-tl-row[data-status='rejected']").first.wait_for(timeout=15_000)
        meter = page.locator(".aios-costs").first
        meter.scroll_into_view_if_needed()
        text = meter.text_content()  # windowed notebooks may not lay out cells off screen: read the DOM text
        assert "invoicing" in text and "Runs by status" in text
        page.screenshot(path=str(artifacts / "lab_dark_cost_meter.png"))

        bg, fg = contrast(page, ".aios-trace")
        assert bg < 0.3 and fg > 0.6, f"dark theme: background {bg:.2f}, text {fg:.2f}"

        lab.open(page, "inbox.ipynb")
        run_all(page)
        page.locator(".aios-inbox .aios-card").first.wait_for(timeout=90_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
        page.locator(".aios-inbox .aios-head").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "lab_dark_inbox.png"))
        bg, fg = contrast(page, ".aios-inbox .aios-card")
        assert bg < 0.3 and fg > 0.6, f"dark inbox card: background {bg:.2f}, text {fg:.2f}"
        for part in (".aios-inbox .aios-paper", ".aios-inbox .aios-flagged", ".aios-inbox .aios-what"):
            bg, fg = contrast(page, part)
            assert bg < 0.3 and fg - bg > 0.45, f"dark theme, {part}: background {bg:.2f}, text {fg:.2f}"
        assert not page.errors, page.errors
