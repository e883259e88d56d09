"""Ten seeded SIGKILL trials of the day's workflows: nothing lost, nothing done twice."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_ten_seeded_crash_trials_lose_and_repeat_nothing(demo_ws, tmp_path):
    from benchmarks.crash_harness import report, run_trials

    [ours] = run_trials(10, seed=1234, workers=2, workdir=tmp_path / "crash", demo_workspace=demo_ws)
    assert ours.kills >= 10, report([ours])  # the kills really landed in the work
    assert ours.lost_runs == 0 and ours.duplicate_effects == 0 and ours.lost_effects == 0, report([ours])
    assert ours.lost_approvals == 0 and ours.duplicate_approvals == 0 and ours.chain_broken == 0, report([ours])
