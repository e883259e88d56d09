"""Bad files and paths: clear errors naming the problem and the fix; nothing overwritten."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aios_kernel import ConfigError, StoreCorruptError, Workbench, WorkspaceError
from aios_kernel._store import Store


def test_non_sqlite_store_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    content = b"this is a text file, not a database\n" * 10
    path.write_bytes(content)
    with pytest.raises(StoreCorruptError, match="not a usable SQLite store") as info:
        Store.open(path)
    assert "snapshot" in str(info.value) and info.value.path == path
    assert path.read_bytes() == content


def test_truncated_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store.open(path) as s:
        for i in range(50):
            s.conn.execute("SELECT 1")
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\x00" * 4000)  # header kept, pages destroyed
    with pytest.raises(StoreCorruptError):
        Store.open(path)


def test_someone_elses_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorruptError, match="not an AIOS store"):
        Store.open(path)
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["photos"]
    conn.close()


def test_workspace_path_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "ws"
    f.write_text("hello")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workbench.init(f)
    with pytest.raises(WorkspaceError, match="is a file"):
        Workbench.open(f)
    assert f.read_text() == "hello"


def test_missing_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="aios init"):
        Workbench.open(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    ("toml", "pattern", "key"),
    [
        ("[models]\nembeding = 'x'\n", r"unknown key 'models.embeding' \(did you mean 'embedding'\?\)", "models.embeding"),
        ("[nonsense]\na = 1\n", r"unknown key 'nonsense'", "nonsense"),
        ("[dask]\nbatch_size = 'big'\n", r"'dask.batch_size' must be int", "dask.batch_size"),
        ("[policies]\ndefault = 'yolo'\n", r"must be one of auto, review, options", "policies.default"),
        ("[budgets]\ndaily_money = -1\n", r"must not be negative", "budgets.daily_money"),
        ("[connectors.ledger]\npth = 'x'\n", r"unknown key 'connectors.ledger.pth' \(did you mean 'path'\?\)", "connectors.ledger.pth"),
        ("[models\n", r"not valid TOML", None),
    ],
    ids=["typo", "unknown-table", "wrong-type", "bad-choice", "negative", "wildcard-table-typo", "syntax"],
)
def test_invalid_aios_toml_names_the_key(tmp_path: Path, toml: str, pattern: str, key: str | None) -> None:
    ws = tmp_path / "ws"
    Workbench.init(ws).close()
    (ws / "aios.toml").write_text(toml)
    with pytest.raises(ConfigError, match=pattern) as info:
        Workbench.open(ws)
    assert info.value.key == key
    assert (ws / "aios.toml").read_text() == toml


def test_init_keeps_an_existing_aios_toml(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    Workbench.init(ws).close()
    (ws / "aios.toml").write_text("[workspace]\nname = 'Mine'\n")
    with Workbench.init(ws) as wb:
        assert wb.config.get("workspace.name") == "Mine"
