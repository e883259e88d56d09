"""End to end on the real local model: triage drafts with SmolLM2, approvals, one effect per reply."""

from __future__ import annotations

from collections import Counter

import pytest

from .conftest import ledger_lines


@pytest.mark.slow
def test_inbox_triage_with_smollm2_end_to_end(lm_wb, demo_ws):
    run = lm_wb.run("inbox_triage", {"since": "2026-11-16"}, idempotency_key="e2e-triage")
    assert run.status == "waiting_approval"
    replies = [r for r in run.outputs()["drafts"]["replies"] if r["needs_reply"]]
    assert replies and all(r["drafted_by"] in ("local", "template") for r in replies)
    assert all(r["body"].startswith("Hi ") and "Maja Lindgren" in r["body"] for r in replies)
    df = lm_wb.trace(run.id)
    local = df.filter((df["kind"] == "model") & (df["tier"] == "local"))
    assert local.height == 1  # every draft of the inbox in one batched generate call
    assert local["tokens_out"][0] > 0 and local["cost"][0] > 0
    step = df.filter((df["kind"] == "step") & (df["name"] == "drafts"))
    assert step["tokens_out"][0] == local["tokens_out"][0]
    fallbacks = [r for r in replies if r["drafted_by"] == "template"]
    assert all(r["fallback_reason"].startswith(("model output failed validation", "the template has no slot"))
               for r in fallbacks)
    costs = lm_wb.costs()
    assert costs.filter(costs["workflow"] == "inbox_triage")["tokens_out"][0] >= local["tokens_out"][0]
    lm_wb.approvals.approve_all()
    lm_wb.resume()
    assert run.status == "succeeded"
    keys = Counter(line["key"] for line in ledger_lines(demo_ws))
    assert len(keys) == len(lm_wb.approvals.all(run_id=run.id)) and set(keys.values()) == {1}
