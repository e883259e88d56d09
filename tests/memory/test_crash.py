"""An ingest killed halfway (SIGKILL) and rerun finishes without duplicates."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aios_kernel import Workbench

N = 600


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


@pytest.mark.slow
def test_killed_ingest_is_completed_by_a_rerun_without_duplicates(tmp_path: Path, minilm) -> None:
    root = tmp_path / "ws"
    Workbench.init(root).close()
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text().replace("batch_size = 64", "batch_size = 16"))
    db = root / "store.db"
    cmd = [sys.executable, "-m", "tests.memory._ingest_job", str(root), str(N)]
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    embedded = 0
    while time.monotonic() < deadline and proc.poll() is None:
        embedded = _count(db, "SELECT count(*) FROM memory_embeddings")
        if embedded > 0:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    records = _count(db, "SELECT count(*) FROM memories")
    embedded = _count(db, "SELECT count(*) FROM memory_embeddings")
    assert records == N and 0 < embedded < N, (records, embedded)  # killed in the middle of embedding

    done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"done {N}" in done.stdout
    with Workbench.open(root) as wb:
        assert wb.store.scalar("SELECT count(*) FROM memories") == N
        assert wb.store.scalar("SELECT count(DISTINCT dedup_key) FROM memories") == N
        assert wb.store.scalar("SELECT count(*) FROM events WHERE type='memory.created'") == N
        assert wb.store.scalar("SELECT count(*) FROM memory_embeddings") == N
        assert wb.memory.pending() == 0
        hits = wb.memory.recall("courier depot 7 parcel 59", k=3)
        assert hits[0].meta["dia_id"] == "D3:20" and "dense" in hits[0].why["layers"]
        assert wb.memory._engine.index.ntotal == N
        assert wb.verify().ok
