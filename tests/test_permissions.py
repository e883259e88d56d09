"""A workspace holds clients' mail and money: its folder is 0700 and its files 0600, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _loose(root: Path) -> list[str]:
    """Everything under ``root`` that someone other than its owner could read, write or enter."""
    out = []
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode & 0o077 or (mode | want) != want:
            out.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return out


def test_a_workspace_made_and_used_under_a_lax_umask_stays_private(tmp_path: Path) -> None:
    from aios_kernel import Workbench
    from tests.orchestrator.conftest import make_fast

    old = os.umask(0o022)
    try:
        ws = tmp_path / "ws"
        Workbench.init(ws, demo=True).close()
        make_fast(ws)
        with Workbench.open(ws) as wb:
            run = wb.run("invoicing", {"month": "2026-10", "client": "Nordlys"})
            for a in wb.approvals.pending():
                a.approve()
            wb.run_pending(run_id=run.id)
            wb.snapshot()
            wb.connectors.call("email", "k-perm", "send_email", {"to": ["a@example.org"], "subject": "s", "body": "b"})
        assert (ws / "ledger.jsonl").exists() and list((ws / "snapshots").iterdir())
        assert _loose(ws) == []
    finally:
        os.umask(old)


def test_the_command_line_writes_privately_and_tightens_an_old_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    aios = str(REPO / ".venv" / "bin" / "aios")
    env = {**os.environ}
    done = subprocess.run(["sh", "-c", f"umask 000 && {aios} init {ws}"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _loose(ws) == []
    # a workspace someone opened up by hand is closed again the next time it is opened
    os.chmod(ws, 0o755)
    os.chmod(ws / "aios.toml", 0o644)
    os.chmod(ws / "store.db", 0o644)
    assert subprocess.run([aios, "status", str(ws)], capture_output=True, text=True, timeout=300).returncode == 0
    assert _loose(ws) == []
