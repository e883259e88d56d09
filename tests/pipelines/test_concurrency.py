"""A minute of concurrency on one workspace: two schedulers, and the kernel beside two headless runs."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel._entities import upsert
from aios_kernel._scheduler import PipelineRuns
from tests.conftest import REPO

pytestmark = pytest.mark.slow
FIXTURES = REPO / "tests" / "fixtures"
AIOS = REPO / ".venv" / "bin" / "aios"


def test_two_schedulers_for_a_minute_start_each_tick_once(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    Workbench.init(ws).close()
    with Workbench.open(ws) as wb:
        wb.schedules.add("tick", str(FIXTURES / "pipeline_empty.ipynb"), "*/10 * * * * *", timezone="UTC", overlap="allow",
                         grace_s=5.0, resume=False)
    logs = [(tmp_path / f"serve-{i}.log").open("w") for i in range(2)]
    procs = [subprocess.Popen([str(AIOS), "scheduler", "serve", "-w", str(ws), "--max-wait", "1", "--drain", "60"],
                              stdout=log, stderr=subprocess.STDOUT) for log in logs]
    time.sleep(60)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        assert p.wait(timeout=180) == 0
    for log in logs:
        log.close()
    text = "".join((tmp_path / f"serve-{i}.log").read_text() for i in range(2))
    assert "locked" not in text and "Traceback" not in text, text[-3000:]
    with Workbench.open(ws) as wb:
        runs = PipelineRuns(wb.store).list()
        assert wb.verify().ok
    keys = sorted(r.tick_key for r in runs)
    assert len(keys) == len(set(keys)) >= 5  # every tick of the minute once, none twice
    stamps = sorted(int(k.split("T")[1][3:5]) * 60 + int(k.split("T")[1][6:8]) for k in keys)
    gaps = {(b - a) % 3600 for a, b in zip(stamps, stamps[1:])}
    assert gaps == {10}, keys  # consecutive ticks: none lost between the two schedulers
    assert {r.status for r in runs} == {"succeeded"}, [(r.tick_key, r.status, r.error) for r in runs]
    owners = {r.owner for r in runs}
    print(f"\ntwo schedulers, 60 s: {len(keys)} ticks, {len(keys) - len(set(keys))} duplicates, claimed by {len(owners)} process(es)")


def test_the_kernel_and_two_headless_runs_write_one_store_for_a_minute(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    Workbench.init(ws).close()
    procs = [subprocess.Popen([str(AIOS), "pipeline", "run", str(FIXTURES / "pipeline_writer.ipynb"), "-w", str(ws), "--json",
                               "--no-resume", "-p", f"tag={tag}", "-p", "seconds=60"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tag in ("night", "noon")]
    mine = 0
    with Workbench.open(ws) as wb:
        before = wb.store.last_seq()
        t_end = time.monotonic() + 75
        while time.monotonic() < t_end:
            upsert(wb.store, "tasks", {"id": f"ta_kernel_{mine}", "title": str(mine), "status": "todo"}, actor="operator")
            mine += 1
            time.sleep(0.005)
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, err[-3000:]
            assert "locked" not in err and "locked" not in out
        runs = [json.loads(out) for out, _ in outs]
        wrote = {}
        for r in runs:
            assert r["status"] == "succeeded", r["error"]
            wrote[r["parameters"]["tag"]] = int(r["outputs"]["3"]["text"].split()[1])
        ids = {t["id"] for t in wb.records("tasks")}
        lost = 0
        for tag, n in (*wrote.items(), ("kernel", mine)):
            expected = {f"ta_{tag}_{i}" for i in range(n)}
            lost += len(expected - ids)
        events = wb.store.query("SELECT count(*) AS n FROM events WHERE seq > ? AND entity LIKE 'task:%'", (before,))[0]["n"]
        assert lost == 0 and events == sum(wrote.values()) + mine, (events, wrote, mine)
        assert wb.verify().ok
    print(f"\nsoak, 60 s: kernel {mine} writes, headless runs {wrote}, 0 lock errors, {lost} lost events")
