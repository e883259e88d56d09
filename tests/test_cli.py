"""The ``aios`` command, run as a user would (a real subprocess), in sync with its docs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aios_kernel._cli import COMMANDS, build_parser
from tests.conftest import REPO

AIOS = REPO / ".venv" / "bin" / "aios"


def aios(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AIOS), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_init_status_verify_snapshot(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    r = aios("init", str(ws), "--demo")
    assert r.returncode == 0, r.stderr
    assert "workspace ready" in r.stdout and "clients: 8" in r.stdout
    r = aios("verify", str(ws))
    assert r.returncode == 0 and "OK" in r.stdout
    r = aios("snapshot", "--workspace", str(ws), "--to", str(tmp_path / "snap.db"))
    assert r.returncode == 0, r.stderr
    r = aios("verify", str(tmp_path / "snapcopy"))
    assert r.returncode == 1 and "no workspace" in r.stderr
    # a snapshot is itself a valid store with the same events
    from aios_kernel._store import Store

    with Store.open(tmp_path / "snap.db") as snap, Store.open(ws / "store.db") as live:
        assert snap.verify().ok and snap.last_seq() == live.last_seq()
    r = aios("snapshot", "--workspace", str(ws), "--to", str(tmp_path / "snap.db"))
    assert r.returncode == 1 and "never overwrite" in r.stderr


def test_reingest_writes_nothing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert aios("init", str(ws), "--demo").returncode == 0
    r = aios("ingest", "--workspace", str(ws))
    assert r.returncode == 0, r.stderr
    assert "0 records written" in r.stdout


def test_verify_fails_on_tampering(tmp_path: Path) -> None:
    import sqlite3

    ws = tmp_path / "ws"
    assert aios("init", str(ws), "--demo").returncode == 0
    conn = sqlite3.connect(ws / "store.db")
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET actor='mallory' WHERE seq=5")
    conn.commit()
    conn.close()
    r = aios("verify", str(ws))
    assert r.returncode == 1 and "hash chain broken" in r.stdout and "event 5" in r.stdout


def test_errors_are_one_line_with_exit_1(tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    r = aios("init", str(f))
    assert r.returncode == 1 and "is a file" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_and_is_documented(name: str) -> None:
    assert len(COMMANDS[name].help) > 10
    parser = build_parser()
    assert name in parser.format_help()
    docs = (REPO / "README.md").read_text() + (REPO / "docs" / "ARCHITECTURE.md").read_text()
    assert f"aios {name}" in docs, f"`aios {name}` is not documented in README.md or docs/ARCHITECTURE.md"
