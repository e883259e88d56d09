"""Numbered, recorded migrations; a newer store is refused untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aios_kernel import StoreVersionError
from aios_kernel._store import Migration, Store, components
from aios_kernel._store._schema import _COMPONENTS


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_component_migration_is_recorded(store: Store) -> None:
    recorded = {(r["component"], r["version"]) for r in store.query("SELECT component, version FROM schema_migrations")}
    expected = {(c.name, m.version) for c in components().values() for m in c.migrations}
    assert recorded == expected
    assert store.schema_versions()["core"] == components()["core"].version


def test_reopening_runs_nothing(tmp_path: Path) -> None:
    Store.open(tmp_path / "s.db").close()
    with Store.open(tmp_path / "s.db") as s:
        assert s.migrate() == []


def test_new_migration_runs_once_on_open(tmp_path: Path) -> None:
    Store.open(tmp_path / "s.db").close()
    comp = components().get("zz_test") or None
    from aios_kernel._store import component

    comp = component("zz_test")
    try:
        comp.add_migration(Migration(1, "create", "CREATE TABLE zz_things (id TEXT PRIMARY KEY);"))
        with Store.open(tmp_path / "s.db") as s:
            assert s.scalar("SELECT count(*) FROM schema_migrations WHERE component='zz_test'") == 1
        comp.add_migration(Migration(2, "add_column", "ALTER TABLE zz_things ADD COLUMN label TEXT;"))
        with Store.open(tmp_path / "s.db") as s:
            cols = [r[1] for r in s.query("PRAGMA table_info(zz_things)")]
            assert cols == ["id", "label"] and s.schema_versions()["zz_test"] == 2
    finally:
        _COMPONENTS.pop("zz_test", None)


def test_failing_migration_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    from aios_kernel._store import component

    Store.open(tmp_path / "s.db").close()
    comp = component("zz_broken")
    try:
        comp.add_migration(Migration(1, "half", "CREATE TABLE zz_half (id TEXT);\nCREATE TABLE zz_half (id TEXT);"))
        with pytest.raises(Exception, match="already exists"):
            Store.open(tmp_path / "s.db")
        with Store.open(tmp_path / "s.db", migrate=False) as s:
            assert s.scalar("SELECT count(*) FROM sqlite_master WHERE name='zz_half'") == 0
            assert "zz_broken" not in s.schema_versions()
    finally:
        _COMPONENTS.pop("zz_broken", None)


def test_store_from_a_newer_version_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path) as s:
        s.conn.execute("UPDATE schema_versions SET version = version + 5 WHERE component='entities'")
    before = digest(path)
    with pytest.raises(StoreVersionError, match="newer version") as info:
        Store.open(path)
    assert info.value.component == "entities" and info.value.found > info.value.known
    assert "upgrade" in str(info.value)
    assert digest(path) == before
