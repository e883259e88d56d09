"""Real headless runs: papermill, real kernels, the watchdog, the records, the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel._scheduler import PipelineRuns
from aios_kernel.pipelines.scheduler import run_pipeline
from tests.conftest import REPO

pytestmark = pytest.mark.slow
FIXTURES = REPO / "tests" / "fixtures"
AIOS = REPO / ".venv" / "bin" / "aios"


def aios(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AIOS), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    Workbench.init(root).close()
    return root


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def _wait(cond, timeout: float = 120.0, what: str = "condition"):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise TimeoutError(f"{what} not reached in {timeout}s")


def test_scheduled_run_from_the_cli_is_recorded_with_its_plots(ws: Path) -> None:
    r = aios("schedule", "add", "report", "-w", str(ws), "--notebook", str(FIXTURES / "pipeline_plot.ipynb"),
             "--cron", "0 7 * * *", "--tz", "Europe/Berlin", "-p", "title=morning")
    assert r.returncode == 0, r.stderr
    r = aios("scheduler", "run-due", "-w", str(ws), "--now", "2025-03-30T07:01:00+02:00")
    assert r.returncode == 0, r.stdout + r.stderr
    r = aios("scheduler", "run-due", "-w", str(ws), "--now", "2025-03-30T07:02:00+02:00")  # nothing new is due
    assert r.returncode == 0 and "0 run(s)" in r.stdout
    runs = json.loads(aios("pipeline", "runs", "-w", str(ws), "--json").stdout)
    assert len(runs) == 1
    run = runs[0]
    assert run["schedule"] == "report" and run["status"] == "succeeded" and run["scheduled_for"] == "2025-03-30T07:00:00+02:00"
    assert run["started_at"] and run["ended_at"] and run["notebook"].endswith("pipeline_plot.ipynb")
    assert run["parameters"] == {"title": "morning"}
    nb = json.loads(Path(run["executed"]).read_text())
    figures = [c for c in nb["cells"] if c["cell_type"] == "code" and "subplots" in "".join(c["source"])]
    assert len(figures) == 2
    for cell in figures:  # every figure reached the notebook as an image, none as "<Figure size ...>" text
        assert any("image/png" in o.get("data", {}) for o in cell["outputs"]), cell["outputs"]
        assert not any("<Figure size" in "".join(o.get("data", {}).get("text/plain", "")) and "image/png" not in o.get("data", {})
                       for o in cell["outputs"])
    assert Path(run["html"]).read_text().count("data:image/png;base64") >= 2


def test_a_failing_cell_gives_a_failed_run_with_the_cell_and_the_partial_notebook(ws: Path) -> None:
    with Workbench.open(ws) as wb:
        run = run_pipeline(wb, str(FIXTURES / "broken.ipynb"), retries=1, resume=False)
    assert run.status == "failed" and "ValueError" in run.error and "on purpose" in run.error
    assert run.error_cell is not None and run.attempt == 2 and len(run.attempts) == 1
    assert run.attempts[0]["status"] == "failed"
    nb = json.loads(Path(run.executed).read_text())
    assert "An Exception was encountered" in "".join(nb["cells"][0]["source"])  # papermill's banner, notebook kept
    assert Path(run.html).exists()


def test_a_run_past_its_time_limit_is_killed_with_its_kernel(ws: Path) -> None:
    t0 = time.monotonic()
    with Workbench.open(ws) as wb:
        run = run_pipeline(wb, str(FIXTURES / "pipeline_sleep.ipynb"), {"seconds": 120}, timeout_s=6, resume=False)
    assert time.monotonic() - t0 < 60
    assert run.status == "timed_out" and "time limit" in run.error, run.error
    kernel_pid = int(run.outputs["2"]["text"].split()[1])
    _wait(lambda: not _pid_alive(kernel_pid), 10, "kernel gone")
    with Workbench.open(ws) as wb:
        assert PipelineRuns(wb.store).processes(run.id) == (None, [])  # no liveness row left behind


def test_a_kernel_killed_mid_run_gives_a_crashed_run(ws: Path) -> None:
    result: dict[str, object] = {}

    def go() -> None:
        with Workbench.open(ws) as wb:
            result["run"] = run_pipeline(wb, str(FIXTURES / "pipeline_sleep.ipynb"), {"seconds": 120}, timeout_s=300, resume=False)

    th = threading.Thread(target=go)
    th.start()
    with Workbench.open(ws) as wb:
        runs = PipelineRuns(wb.store)
        rid = _wait(lambda: next((r.id for r in runs.list(status="running")), None), 120, "a running run")
        kernels = _wait(lambda: runs.processes(rid)[1], 120, "the kernel pid")
        _wait(lambda: (runs.get(rid).progress or (0, 0))[0] >= 3, 120, "the sleeping cell")
    os.kill(kernels[0], signal.SIGKILL)
    th.join(120)
    assert not th.is_alive()
    run = result["run"]
    assert run.status == "crashed" and "kernel died" in run.error, run.error  # type: ignore[attr-defined]


def test_a_scheduler_killed_mid_run_is_found_at_the_next_start(ws: Path) -> None:
    assert aios("schedule", "add", "nap", "-w", str(ws), "--notebook", str(FIXTURES / "pipeline_sleep.ipynb"), "--cron",
                "0 7 * * *", "--tz", "UTC", "-p", "seconds=300").returncode == 0
    proc = subprocess.Popen([str(AIOS), "scheduler", "run-due", "-w", str(ws), "--now", "2025-06-02T07:00:10Z"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with Workbench.open(ws) as wb:
        runs = PipelineRuns(wb.store)
        rid = _wait(lambda: next((r.id for r in runs.list(status="running")), None), 120, "a running run")
        kernels = _wait(lambda: runs.processes(rid)[1], 120, "the kernel pid")
        child, _ = runs.processes(rid)
    proc.kill()
    proc.wait()
    _wait(lambda: not _pid_alive(child) and not _pid_alive(kernels[0]), 30, "the orphaned child and kernel gone")
    r = aios("scheduler", "run-due", "-w", str(ws), "--now", "2025-06-02T07:00:20Z")
    assert r.returncode == 0 and "1 crashed run(s) found" in r.stdout, r.stdout + r.stderr
    with Workbench.open(ws) as wb:
        runs = PipelineRuns(wb.store)
        run = runs.get(rid)
        assert run.status == "crashed" and "died" in run.error and run.ended_at
        assert len(runs.list()) == 1  # the tick was not run again, nor lost: one record, crashed
        assert wb.verify().ok


def test_bad_input_on_the_command_line_is_refused_and_records_nothing(ws: Path) -> None:
    nb = str(FIXTURES / "pipeline_params.ipynb")
    r = aios("pipeline", "run", nb, "-w", str(ws), "-p", "count=3")
    assert r.returncode == 1 and "parameters.count" in r.stderr and "declared: n, label, ratio, flag, tags" in r.stderr
    r = aios("pipeline", "run", nb, "-w", str(ws), "-p", "n=many")
    assert r.returncode == 1 and "parameters.n must be int" in r.stderr
    r = aios("pipeline", "run", "nowhere.ipynb", "-w", str(ws))
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = aios("pipeline", "run", nb, "-w", str(ws), "-p", "n")
    assert r.returncode == 2 and "NAME=VALUE" in r.stderr
    r = aios("schedule", "add", "x", "-w", str(ws), "--notebook", nb, "--cron", "0 7 * * *", "--tz", "Mars/Olympus")
    assert r.returncode == 1 and "timezone" in r.stderr and "IANA" in r.stderr
    r = aios("scheduler", "run-due", "-w", str(ws), "--now", "tomorrow")
    assert r.returncode == 1 and "--now" in r.stderr and "ISO-8601" in r.stderr
    with Workbench.open(ws) as wb:
        assert wb.pipeline_runs().height == 0 and len(wb.schedules) == 0


def test_a_running_run_cancelled_from_the_cli_is_killed_and_recorded_once(ws: Path) -> None:
    result: dict[str, object] = {}

    def go() -> None:
        with Workbench.open(ws) as wb:
            result["run"] = run_pipeline(wb, str(FIXTURES / "pipeline_sleep.ipynb"), {"seconds": 120}, resume=False)

    th = threading.Thread(target=go)
    th.start()
    with Workbench.open(ws) as wb:
        runs = PipelineRuns(wb.store)
        rid = _wait(lambda: next((r.id for r in runs.list(status="running")), None), 120, "a running run")
        kernels = _wait(lambda: runs.processes(rid)[1], 120, "the kernel pid")
    r = aios("pipeline", "cancel", rid, "-w", str(ws))
    assert r.returncode == 0 and "cancel requested" in r.stdout, r.stdout + r.stderr
    th.join(120)
    assert not th.is_alive()
    run = result["run"]
    assert run.status == "cancelled" and run.attempt == 1  # type: ignore[attr-defined]
    _wait(lambda: not _pid_alive(kernels[0]), 10, "kernel gone")
    r = aios("pipeline", "cancel", rid, "-w", str(ws))  # cancelling an ended run changes nothing
    assert r.returncode == 0 and "cancelled" in r.stdout
