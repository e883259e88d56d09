"""Replies approved, ``aios resume`` SIGKILLed while they go out through a real SMTP server: each message once."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_sigkilled_resumes_send_every_approved_reply_at_most_once_and_ask_about_the_ambiguous(demo_ws, tmp_path):
    from benchmarks.smtp_crash import report, run_trials

    results = run_trials(3, seed=77, kills=3, drop_every=4, workdir=tmp_path / "smtp-crash", demo_workspace=demo_ws)
    text = report(results)
    assert sum(r.kills for r in results) >= 3, text  # the kills landed in the work
    assert sum(r.approved for r in results) >= 9, text
    assert sum(r.duplicates for r in results) == 0, text
    assert sum(r.lost for r in results) == 0, text
    assert sum(r.resent_on_their_own for r in results) == 0, text
    assert sum(r.unknown for r in results) >= 1, text  # the server's dropped connections were put to the operator
    assert all(r.received + r.unknown >= r.approved for r in results), text
