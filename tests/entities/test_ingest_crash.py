"""Kill an ingest halfway, run it again: the same records as one clean run, none doubled."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel._entities import ENTITY_TABLES
from tests.conftest import REPO

pytestmark = pytest.mark.slow
AIOS = REPO / ".venv" / "bin" / "aios"


def canonical(ws: Path) -> dict[str, list[tuple]]:
    with Workbench.open(ws) as wb:
        assert wb.verify().ok
        out = {}
        for table in ENTITY_TABLES:
            rows = wb.records(table)
            out[table] = sorted(tuple(sorted((k, str(v)) for k, v in r.items() if k != "event_seq")) for r in rows)
        return out


def events_so_far(store: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_killed_init_then_rerun_equals_a_clean_run(tmp_path: Path, demo_template: Path) -> None:
    expected = canonical(demo_template)
    with Workbench.open(demo_template) as wb:
        total = wb.store.last_seq()
        # Entity files commit one by one; memory follows in larger batches.
        entity_events = wb.store.scalar("SELECT count(*) FROM events WHERE type NOT LIKE 'memory.%'")
    rng = random.Random(7)
    for trial in range(3):
        ws = tmp_path / f"ws{trial}"
        kill_after = rng.randint(5, entity_events - 5)
        p = subprocess.Popen([str(AIOS), "init", str(ws), "--demo"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while p.poll() is None and events_so_far(ws / "store.db") < kill_after:
            time.sleep(0.002)
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert p.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
        assert 0 < events_so_far(ws / "store.db") < total  # killed halfway, not before or after
        assert subprocess.run([str(AIOS), "init", str(ws), "--demo"], capture_output=True, timeout=120).returncode == 0
        assert canonical(ws) == expected
