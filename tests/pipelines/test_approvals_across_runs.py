"""The night proposes, the operator decides, the next run carries it out once (or compensates a rejection)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel.pipelines.scheduler import run_pipeline
from tests.conftest import REPO
from tests.orchestrator.conftest import make_fast

pytestmark = pytest.mark.slow
NIGHT = REPO / "tests" / "fixtures" / "pipeline_invoicing.ipynb"
AIOS = REPO / ".venv" / "bin" / "aios"


def ledger(ws: Path) -> list[dict]:
    path = ws / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_decisions_between_headless_runs_are_carried_out_exactly_once(demo_ws: Path) -> None:
    ws = make_fast(demo_ws)
    with Workbench.open(ws) as wb:
        night = run_pipeline(wb, str(NIGHT), {"month": "2026-10"})
        assert night.status == "succeeded", night.error
        raised = [a for a in night.approvals if a["action"] == "issue_invoice"]
        assert len(raised) == 5 and all(a["status"] == "pending" for a in raised)  # a headless run never waits
        assert night.workflow_runs and ledger(ws) == []
        ids = sorted(a["id"] for a in raised)
    # the operator decides later, from the shell: approve two, reject one
    assert subprocess.run([str(AIOS), "approve", "-w", str(ws), ids[0], ids[1]], capture_output=True, text=True).returncode == 0
    r = subprocess.run([str(AIOS), "approve", "-w", str(ws), ids[2], "--reject", "--reason", "client asked to wait"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with Workbench.open(ws) as wb:
        morning = run_pipeline(wb, str(NIGHT), {"month": "2026-10"})
        assert morning.status == "succeeded", morning.error
        assert morning.resumed["tasks_run"] >= 3  # the decided tasks ran before the notebook started
        went = ledger(ws)  # each approved invoice is issued (in the invoice ledger), then sent
        assert sorted(e["action"] for e in went) == ["send_email", "send_email"] and len(wb.invoices.list()) == 2
        applied = [e for e in morning.effects if e["status"] == "applied"]
        assert sorted(e["action"] for e in applied) == ["issue_invoice"] * 2 + ["mark_invoice_sent"] * 2 + ["send_email"] * 2
        rejected = wb.approvals.get(ids[2])
        task = next(t for t in wb.get_run(rejected.run_id).tasks if t.id == rejected.task_id)
        assert task.status == "cancelled"  # the rejection settled the task through its compensations
        view = wb.morning()
        assert len(view.decided) == 3 and len(view.went_out) == 6 and view.waiting == 2
        # a third run, and `aios resume`, change nothing: each effect went out once
        again = run_pipeline(wb, str(NIGHT), {"month": "2026-10"})
        assert again.status == "succeeded" and not [e for e in again.effects if e["status"] == "applied"]
    assert subprocess.run([str(AIOS), "resume", "-w", str(ws)], capture_output=True, text=True).returncode == 0
    assert len(ledger(ws)) == 2
    keys = [e["key"] for e in ledger(ws)]
    assert len(keys) == len(set(keys))
