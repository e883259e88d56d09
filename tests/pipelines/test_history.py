"""Run history in notebooks and on the command line: the frame, the magic, comparisons, the installer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel._kernel._commands import COMMANDS
from aios_kernel.pipelines.scheduler import run_pipeline
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"
AIOS = REPO / ".venv" / "bin" / "aios"


@pytest.mark.slow
def test_two_runs_of_a_schedule_compared_in_the_frame_the_magic_and_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with Workbench.init(root) as wb:
        wb.schedules.add("calc", str(FIXTURES / "pipeline_params.ipynb"), "0 7 * * *", timezone="Europe/Berlin",
                         parameters={"n": 2}, resume=False)
        first = run_pipeline(wb, "calc")
        second = run_pipeline(wb, "calc", {"n": "5", "label": "y"})
        assert first.ok and second.ok and second.parameters == {"n": 5, "label": "y"}
        df = wb.pipeline_runs(schedule="calc")
        assert df.height == 2 and df["status"].to_list() == ["succeeded", "succeeded"]
        assert set(df.columns) >= {"scheduled_for", "started_at", "ended_at", "duration_s", "cost", "approvals", "executed", "html"}
        diff = wb.compare_pipeline_runs(schedule="calc")
        assert diff.a.id == first.id and diff.b.id == second.id
        assert diff.parameters == {"n": (2, 5), "label": (None, "y")}
        assert set(diff.outputs) == {"2", "3"} and "y: total=5.0" in diff.outputs["2"][1]
        assert "duration" in str(diff) and "cell 2" in diff._repr_html_()
        view = COMMANDS["pipeline"].fn(wb, ["runs"])
        page = view._repr_html_()
        assert first.id in page and second.id in page and "notebook</a>" in page and "HTML</a>" in page
        assert "calc" in str(COMMANDS["schedules"].fn(wb, []))
        assert "pipeline runs: 2" in str(COMMANDS["morning"].fn(wb, []))
    r = subprocess.run([str(AIOS), "pipeline", "compare", "--schedule", "calc", "-w", str(root)], capture_output=True, text=True)
    assert r.returncode == 0 and "parameter n: 2 -> 5" in r.stdout, r.stdout + r.stderr


def test_install_writes_a_systemd_timer_or_prints_a_crontab_line(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workbench.init(root).close()
    r = subprocess.run([str(AIOS), "scheduler", "install", "-w", str(root), "--dir", str(tmp_path / "units")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    timer = (tmp_path / "units" / "aios-scheduler.timer").read_text()
    service = (tmp_path / "units" / "aios-scheduler.service").read_text()
    assert "Persistent=true" in timer and "OnCalendar=" in timer
    assert f"scheduler run-due --workspace {root}" in service and "Type=oneshot" in service
    r = subprocess.run([str(AIOS), "scheduler", "install", "-w", str(root), "--cron"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("* * * * * ") and "run-due" in r.stdout
    r = subprocess.run([str(AIOS), "scheduler", "install", "-w", str(root), "--print"], capture_output=True, text=True)
    assert r.returncode == 0 and "# aios-scheduler.timer" in r.stdout and "# aios-scheduler.service" in r.stdout
