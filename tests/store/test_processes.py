"""Several processes writing one store; SIGKILL in the middle of writes."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from aios_kernel._store import Store
from tests.conftest import REPO


def _writer(path: Path, tag: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.store._writer", str(path), tag, str(count)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_processes_write_one_store_without_lock_errors(store: Store) -> None:
    procs = [_writer(store.path, tag, 150) for tag in ("a", "b", "c")]
    # The parent writes too, like a kernel while two papermill runs work.
    from aios_kernel._entities import upsert

    for i in range(50):
        upsert(store, "tasks", {"id": f"ta_k_{i}", "title": f"k {i}", "status": "todo"}, actor="kernel")
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "locked" not in err
    assert store.scalar("SELECT count(*) FROM tasks") == 500
    assert store.scalar("SELECT count(*) FROM events WHERE type='task.upserted'") == 500
    report = store.verify()
    assert report.ok, report


def test_sigkill_during_writes_leaves_no_partial_record(store: Store) -> None:
    rng = random.Random(20261121)
    committed: set[str] = set()
    for trial in range(6):
        p = _writer(store.path, f"t{trial}", 100_000)
        time.sleep(rng.uniform(0.3, 1.0))
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate()
        committed |= set(out.split())
        assert p.returncode == -signal.SIGKILL
    with Store.open(store.path) as s:
        report = s.verify()
        assert report.ok, report
        ids = {r[0] for r in s.query("SELECT id FROM tasks")}
        # Everything the writer saw committed survived; at most one more per trial
        # (committed, killed before it printed), and never a row without its event.
        assert committed <= ids and len(ids - committed) <= 6
        orphans = s.scalar("SELECT count(*) FROM tasks t LEFT JOIN events e ON e.seq = t.event_seq WHERE e.seq IS NULL")
        assert orphans == 0
        assert s.scalar("SELECT count(*) FROM events WHERE type='task.upserted'") == len(ids)


def test_second_open_in_one_process_keeps_the_first_connections_locks(store: Store) -> None:
    """POSIX drops a process's locks on a file when any descriptor of it closes.

    Opening the same store again in the same process (a widget, a second
    Workbench) must not do that, or another process closing its last
    connection deletes the WAL under the first connection.
    """
    from aios_kernel._entities import upsert

    upsert(store, "tasks", {"id": "ta_first", "title": "first", "status": "todo"}, actor="kernel")
    second = Store.open(store.path)
    second.close()
    p = _writer(store.path, "other", 30)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    # The first connection still works, and what it writes now reaches other processes.
    upsert(store, "tasks", {"id": "ta_after", "title": "after", "status": "todo"}, actor="kernel")
    assert store.scalar("SELECT count(*) FROM tasks") == 32
    seen = subprocess.run(
        [sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
         "print(c.execute(\"SELECT count(*) FROM tasks WHERE id='ta_after'\").fetchone()[0])", str(store.path)],
        capture_output=True, text=True, timeout=60,
    )
    assert seen.stdout.strip() == "1", seen.stderr
    assert store.verify().ok
