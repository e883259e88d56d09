"""Pipeline runs as tasks on a real dask.distributed scheduler with two worker processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel._scheduler import PipelineRuns
from aios_kernel.pipelines.scheduler import run_due
from tests.conftest import REPO
from tests.memory.test_distributed import cluster  # noqa: F401  (the fixture: a scheduler and two worker processes)

pytestmark = pytest.mark.slow
FIXTURES = REPO / "tests" / "fixtures"
NOW = datetime.fromisoformat("2025-06-02T07:00:30+00:00")


def _workspace(root: Path, address: str = "") -> Path:
    Workbench.init(root).close()
    if address:
        cfg = root / "aios.toml"
        cfg.write_text(cfg.read_text().replace('address = ""', f'address = "{address}"'))
    with Workbench.open(root) as wb:
        for n in (1, 2, 3, 4):
            wb.schedules.add(f"batch{n}", str(FIXTURES / "pipeline_params.ipynb"), "0 7 * * *", timezone="UTC", overlap="allow",
                             parameters={"n": n * 3, "label": f"b{n}"}, resume=False)
    return root


def test_a_batch_of_runs_completes_across_both_workers_as_it_does_locally(tmp_path: Path, cluster: str) -> None:  # noqa: F811
    local, dist = _workspace(tmp_path / "local"), _workspace(tmp_path / "dist", cluster)
    results = {}
    for name, root in (("local", local), ("dist", dist)):
        with Workbench.open(root) as wb:
            report = run_due(wb, NOW)
            assert len(report.runs) == 4 and all(r.status == "succeeded" for r in report.runs), report
            results[name] = {r.schedule: r for r in PipelineRuns(wb.store).list()}
    assert set(results["local"]) == set(results["dist"]) == {"batch1", "batch2", "batch3", "batch4"}
    for name in results["local"]:
        a, b = results["local"][name], results["dist"][name]
        assert a.outputs == b.outputs and a.outputs  # the same cell outputs, digest for digest
        assert a.tick_key == b.tick_key and b.attempt == 1
    executors = {r.executor.split(":")[1] for r in results["dist"].values()}
    owners = {r.owner for r in results["dist"].values()}
    assert len(executors) == 2 and str(os.getpid()) not in executors  # both worker processes ran some, this one none
    assert len(owners) == 1  # claimed once, by this scheduler


def test_a_worker_killed_mid_run_gives_a_retried_run_not_a_lost_or_doubled_one(tmp_path: Path, cluster: str) -> None:  # noqa: F811
    root = tmp_path / "ws"
    Workbench.init(root).close()
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text().replace('address = ""', f'address = "{cluster}"'))
    with Workbench.open(root) as wb:
        wb.schedules.add("nap", str(FIXTURES / "pipeline_sleep.ipynb"), "0 7 * * *", timezone="UTC",
                         parameters={"seconds": 8.0}, resume=False)
    out: dict[str, object] = {}

    def scheduler() -> None:
        with Workbench.open(root) as wb:
            out["report"] = run_due(wb, NOW)

    th = threading.Thread(target=scheduler)
    th.start()
    with Workbench.open(root) as wb:
        runs = PipelineRuns(wb.store)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = runs.list(status="running")
            if running and (running[0].progress or (0, 0))[0] >= 3:
                break
            time.sleep(0.2)
        run = running[0]
        first_worker = int(run.executor.split(":")[1])
        os.kill(first_worker, signal.SIGKILL)  # the worker process running the notebook dies mid-cell
    th.join(300)
    assert not th.is_alive()
    with Workbench.open(root) as wb:
        all_runs = PipelineRuns(wb.store).list()
    assert len(all_runs) == 1  # one tick, one record: not lost, not doubled
    final = all_runs[0]
    assert final.status == "succeeded" and final.attempt == 2, (final.status, final.error)
    assert final.attempts[0]["status"] == "crashed" and "died" in final.attempts[0]["error"]
    assert int(final.executor.split(":")[1]) != first_worker
    assert final.outputs["3"]["text"].strip() == "woke"
