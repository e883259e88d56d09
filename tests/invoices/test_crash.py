"""SIGKILL `aios resume` at random moments while October's invoices are issued: no gap, no number twice, one PDF
and one e-mail per invoice, totals as computed."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.orchestrator.conftest import ledger_lines

AIOS = REPO / ".venv" / "bin" / "aios"
KILLS = int(os.environ.get("AIOS_INVOICE_KILLS", "4"))


def _events(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as c:
        return int(c.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])


@pytest.mark.slow
def test_sigkilled_resume_leaves_october_without_gaps_or_doubles(fast_ws: Path) -> None:
    from aios_kernel import Workbench

    with Workbench.open(fast_ws) as wb:
        run = wb.run("invoicing", {"month": "2026-10"}, idempotency_key="oct-crash")
        computed = {i["ref"]: i for i in run.outputs()["compute"]["invoices"]}
        for a in wb.approvals.pending():
            a.approve(by="test")  # decisions only: the resumes below issue them
    rng = random.Random(int(os.environ.get("AIOS_INVOICE_SEED", "20261101")))
    db, killed = fast_ws / "store.db", 0
    for _ in range(KILLS):
        start = _events(db)
        proc = subprocess.Popen([str(AIOS), "resume", "-w", str(fast_ws)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.time() + 60
        while _events(db) == start and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)  # until it is at work
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
    final = subprocess.run([str(AIOS), "resume", "-w", str(fast_ws)], capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    with Workbench.open(fast_ws) as wb:
        issued = wb.invoices.list()
        numbers = [i.number for i in issued]
        assert numbers == [f"LA-2026-{n:03d}" for n in range(33, 33 + len(computed))]  # no gap, none twice
        assert sorted(i.ref for i in issued) == sorted(computed) and {i.status for i in issued} == {"sent"}
        files = sorted(p.name for p in (fast_ws / "invoices").iterdir() if not p.name.endswith(".partial"))
        assert files == sorted([f"{n}.pdf" for n in numbers] + [f"{n}.xml" for n in numbers])
        for i in issued:
            assert (i.net, i.vat, i.total) == tuple(computed[i.ref][k] for k in ("net", "vat", "total"))
            assert wb.invoices.ensure_files(i) == i  # the files are the ones the ledger recorded
        mails = Counter(e["key"] for e in ledger_lines(fast_ws) if e["action"] == "send_email")
        assert len(mails) == len(computed) and set(mails.values()) == {1}
        assert killed >= 1
