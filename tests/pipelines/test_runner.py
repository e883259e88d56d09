"""Headless notebook runs with papermill: outputs, failures, concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel.pipelines.runner import run_notebook
from tests.conftest import REPO

pytestmark = pytest.mark.slow
FIXTURES = REPO / "tests" / "fixtures"


def test_run_writes_executed_notebook_html_and_record(demo_ws: Path, tmp_path: Path) -> None:
    run = run_notebook(FIXTURES / "write_tasks.ipynb", workspace=demo_ws, runs_dir=tmp_path / "runs",
                       parameters={"tag": "one", "count": 3})
    assert run.ok and run.error is None
    assert run.executed.exists() and run.html is not None and "wrote 3" in run.html.read_text()
    record = json.loads((run.folder / "run.json").read_text())
    assert record["parameters"]["tag"] == "one" and record["ok"] is True
    with Workbench.open(demo_ws) as wb:
        assert {f"ta_one_{i}" for i in range(3)} <= {t["id"] for t in wb.records("tasks")}


def test_failing_cell_is_reported_not_raised(demo_ws: Path, tmp_path: Path) -> None:
    run = run_notebook(FIXTURES / "broken.ipynb", workspace=demo_ws, runs_dir=tmp_path / "runs")
    assert not run.ok and "ValueError" in run.error and "on purpose" in run.error
    assert run.html is not None and run.html.exists()  # the operator can still read what happened


def test_two_papermill_runs_and_the_kernel_write_one_store(demo_ws: Path, tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "papermill", str(FIXTURES / "write_tasks.ipynb"), str(tmp_path / f"out-{tag}.ipynb"),
             "-p", "workspace", str(demo_ws), "-p", "tag", tag, "-p", "count", "150", "-k", "python3", "--no-progress-bar"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for tag in ("night", "noon")
    ]
    from aios_kernel._entities import upsert

    with Workbench.open(demo_ws) as wb:
        for i in range(150):
            upsert(wb.store, "tasks", {"id": f"ta_kernel_{i}", "title": str(i), "status": "todo"}, actor="operator")
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-2000:]
            assert "database is locked" not in err
        ids = {t["id"] for t in wb.records("tasks")}
        for tag in ("night", "noon", "kernel"):
            assert {f"ta_{tag}_{i}" for i in range(150)} <= ids
        assert wb.verify().ok
