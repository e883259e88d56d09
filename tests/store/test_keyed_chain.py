"""The event chain is keyed with the workspace key: an edit with a recomputed plain chain is caught.

The key lives outside the store (``AIOS_KEY`` or a 0600 key file under ``AIOS_KEY_DIR``, which the
test session points at a temporary folder). These tests edit ``store.db`` by hand, as someone with
write access to the file (but not to the key) would.
"""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from aios_kernel import StoreError, WorkspaceError
from aios_kernel._entities import upsert
from aios_kernel._store import ChainKey, Store
from aios_kernel._store._chain import GENESIS, chain_hash
from aios_kernel._workspace import WorkspacePaths, key_dir, workspace_key
from tests.conftest import KEY_DIR, REPO


def _clients(store: Store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        upsert(store, "clients", {"id": f"cl_{i}", "name": f"Client {i}", "aliases": []}, actor="t")


def _rewrite(path: Path, sql: str, *, recompute: bool = True) -> None:
    """Edit the file by hand: drop the trigger, change rows, recompute the plain SHA-256 chain."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute(sql)
    if recompute:
        prev = GENESIS
        rows = conn.execute("SELECT seq, id, at, type, entity, payload, actor, correlation_id, cause_id FROM events"
                            " ORDER BY seq").fetchall()
        for row in rows:
            digest = chain_hash(prev, *row)
            conn.execute("UPDATE events SET prev_hash=?, hash=? WHERE seq=?", (prev, digest, row[0]))
            prev = digest
    conn.commit()
    conn.close()


def test_a_new_store_is_keyed_from_its_first_event_with_a_private_key_file(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 3)
        report = s.verify()
        assert report.ok and report.keyed_seq == 1 and report.events == 3
        wid = s.workspace_id
    key_file = KEY_DIR / f"{wid}.key"
    assert key_dir() == KEY_DIR and key_file.exists()  # never under the real home
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and stat.S_IMODE(KEY_DIR.stat().st_mode) == 0o700
    secret = workspace_key(WorkspacePaths(tmp_path))
    assert base64.b64decode(key_file.read_text()) == secret and len(secret) == 32
    assert str(ChainKey(secret)).count("key_id") == 1 and base64.b64encode(secret).decode() not in repr(ChainKey(secret))


def test_an_edited_event_with_a_recomputed_plain_chain_is_detected(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 5)
    _rewrite(tmp_path / "store.db", """UPDATE events SET payload=replace(payload, '"Client 2"', '"Evil"') WHERE seq=3""")
    with Store.open(tmp_path / "store.db") as s:
        report = s.verify()
        assert not report.ok and report.bad_seq == 1 and "hash chain broken" in str(report)


def test_aios_verify_detects_an_edit_with_a_recomputed_chain(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    aios = REPO / ".venv" / "bin" / "aios"
    assert subprocess.run([aios, "init", str(ws)], capture_output=True, text=True).returncode == 0
    with Store.open(ws / "store.db") as s:
        _clients(s, 4)
    _rewrite(ws / "store.db", "UPDATE events SET actor='mallory' WHERE seq=4")
    r = subprocess.run([aios, "verify", str(ws)], capture_output=True, text=True)
    assert r.returncode == 1 and "hash chain broken" in r.stdout


def test_moving_the_start_of_the_keyed_part_is_detected(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 3)
    _rewrite(tmp_path / "store.db", "UPDATE store_info SET value='99' WHERE name='chain_keyed_seq'")
    with Store.open(tmp_path / "store.db") as s:
        assert any("does not verify with this key" in p for p in s.verify().problems)


def test_a_log_rewritten_as_an_unkeyed_one_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 3)
    _rewrite(tmp_path / "store.db", "DELETE FROM store_info WHERE name LIKE 'chain%'")
    with Store.open(tmp_path / "store.db") as s:
        assert any("was rewritten" in p for p in s.verify().problems)
        seq = s.last_seq()
        with pytest.raises(StoreError, match="rewritten"):
            _clients(s, 1, start=10)
        assert s.last_seq() == seq


def test_a_store_written_before_keyed_chains_is_keyed_on_open_and_its_past_sealed(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.db", key=None) as s:  # as an older version wrote it
        _clients(s, 3)
        assert s.verify().ok and s.verify().keyed_seq is None
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 2, start=3)
        report = s.verify()
        assert report.ok and report.keyed_seq == 4 and "written before the chain was keyed" in str(report)
    shutil.copy(tmp_path / "store.db", tmp_path / "copy.db")
    _rewrite(tmp_path / "store.db", "UPDATE events SET actor='mallory' WHERE seq=1")  # the plain part, recomputed
    with Store.open(tmp_path / "store.db") as s:
        assert s.verify().bad_seq == 4  # the first keyed event seals the hash of the last plain one
    # an edit of the plain part before any keyed event: the record of where keying started seals it
    with Store.open(tmp_path / "fresh.db", key=None) as s:
        _clients(s, 2)
    Store.open(tmp_path / "fresh.db").close()
    _rewrite(tmp_path / "fresh.db", "UPDATE events SET actor='mallory' WHERE seq=2")
    with Store.open(tmp_path / "fresh.db") as s:
        assert any("does not verify with this key" in p for p in s.verify().problems)


def test_a_missing_key_leaves_the_store_readable_but_unwritable_and_verify_says_so(tmp_path: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 2)
    elsewhere = KEY_DIR / f"elsewhere-{tmp_path.name}"
    monkeypatch.setenv("AIOS_KEY_DIR", str(elsewhere))
    with Store.open(tmp_path / "store.db") as s:
        assert s.scalar("SELECT count(*) FROM clients") == 2
        report = s.verify()
        assert not report.ok and any("is missing" in p for p in report.problems)
        with pytest.raises(StoreError, match="missing"):
            _clients(s, 1, start=5)
        assert s.last_seq() == 2
    assert not list(elsewhere.glob("*.key"))  # a missing key is never replaced by a new one


def test_a_wrong_key_is_named_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 2)
    monkeypatch.setenv("AIOS_KEY", base64.b64encode(os.urandom(32)).decode())
    with Store.open(tmp_path / "store.db") as s:
        report = s.verify()
        assert not report.ok and any("is not the key this event log was keyed with" in p for p in report.problems)
        with pytest.raises(StoreError, match="not the key"):
            _clients(s, 1, start=5)


def test_the_key_can_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = os.urandom(32)
    monkeypatch.setenv("AIOS_KEY", base64.b64encode(secret).decode())
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 2)
        assert s.verify().ok
        wid = s.workspace_id
    assert workspace_key(WorkspacePaths(tmp_path)) == secret
    assert not (KEY_DIR / f"{wid}.key").exists()
    monkeypatch.setenv("AIOS_KEY", "too-short")
    with pytest.raises(WorkspaceError, match="base64 of at least 32"):
        Store.open(tmp_path / "store.db")


def test_unsafe_key_files_and_key_folders_inside_the_workspace_are_refused(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(tmp_path / "store.db") as s:
        wid = s.workspace_id
    key_file = KEY_DIR / f"{wid}.key"
    key_file.chmod(0o644)
    with pytest.raises(WorkspaceError, match="chmod 600"):
        Store.open(tmp_path / "store.db")
    key_file.chmod(0o600)
    monkeypatch.setenv("AIOS_KEY_DIR", str(tmp_path / "keys"))
    with pytest.raises(WorkspaceError, match="inside the workspace"):
        Store.open(tmp_path / "other.db")


def test_an_edited_workspace_id_cannot_point_the_key_lookup_elsewhere(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.db") as s:
        _clients(s, 1)
    _rewrite(tmp_path / "store.db", "UPDATE store_info SET value='../../etc/passwd' WHERE name='workspace_id'",
             recompute=False)
    with pytest.raises(WorkspaceError, match="malformed"):
        Store.open(tmp_path / "store.db")
