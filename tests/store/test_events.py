"""Events and projections are written together or not at all; the chain detects tampering."""

from __future__ import annotations

import sqlite3

import pytest

from aios_kernel import ValidationError
from aios_kernel._entities import rows, upsert
from aios_kernel._store import Store


def test_emit_writes_event_and_projection_in_one_transaction(store: Store) -> None:
    event = upsert(store, "clients", {"id": "cl_1", "name": "Acme", "aliases": []}, actor="operator")
    assert event is not None and event.type == "client.upserted" and event.actor == "operator"
    row = store.one("SELECT * FROM clients WHERE id='cl_1'")
    assert row["name"] == "Acme" and row["event_seq"] == event.seq


def test_unchanged_upsert_writes_no_event(store: Store) -> None:
    upsert(store, "clients", {"id": "cl_1", "name": "Acme", "aliases": []}, actor="t")
    before = store.last_seq()
    assert upsert(store, "clients", {"id": "cl_1", "name": "Acme", "aliases": []}, actor="t") is None
    assert store.last_seq() == before
    assert upsert(store, "clients", {"id": "cl_1", "name": "Acme Ltd", "aliases": []}, actor="t") is not None
    assert store.last_seq() == before + 1


def test_failure_inside_atomic_leaves_neither_event_nor_projection(store: Store) -> None:
    with pytest.raises(RuntimeError), store.atomic():
        upsert(store, "clients", {"id": "cl_1", "name": "Acme", "aliases": []}, actor="t")
        raise RuntimeError("boom")
    assert store.last_seq() == 0
    assert store.scalar("SELECT count(*) FROM clients") == 0


def test_nested_savepoint_rolls_back_only_inner(store: Store) -> None:
    with store.atomic():
        upsert(store, "clients", {"id": "cl_1", "name": "A", "aliases": []}, actor="t")
        with pytest.raises(ValueError), store.atomic():
            upsert(store, "clients", {"id": "cl_2", "name": "B", "aliases": []}, actor="t")
            raise ValueError("inner")
    assert [r["id"] for r in rows(store, "clients")] == ["cl_1"]
    assert store.verify().ok


def test_projection_without_event_is_impossible(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("INSERT INTO clients(id, name, aliases, event_seq) VALUES ('x', 'X', '[]', 999)")


def test_events_are_append_only(store: Store) -> None:
    upsert(store, "clients", {"id": "cl_1", "name": "A", "aliases": []}, actor="t")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE events SET actor='mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM events")


def test_hash_chain_detects_a_changed_payload(store: Store) -> None:
    for i in range(5):
        upsert(store, "clients", {"id": f"cl_{i}", "name": f"C{i}", "aliases": []}, actor="t")
    assert store.verify().ok
    # Tampering needs the trigger gone: what someone editing the file by hand would do.
    store.conn.execute("DROP TRIGGER events_no_update")
    store.conn.execute("""UPDATE events SET payload=replace(payload, '"C2"', '"Evil"') WHERE seq=3""")
    report = store.verify()
    assert not report.ok and report.bad_seq == 3
    assert "altered" in str(report)


def test_hash_chain_detects_a_removed_event(store: Store) -> None:
    for i in range(4):
        upsert(store, "clients", {"id": f"cl_{i}", "name": f"C{i}", "aliases": []}, actor="t")
    store.conn.execute("PRAGMA foreign_keys=OFF")
    store.conn.execute("DROP TRIGGER events_no_delete")
    store.conn.execute("DELETE FROM events WHERE seq=2")
    report = store.verify()
    assert not report.ok and report.bad_seq == 3


def test_unknown_event_type_and_bad_entity_are_refused(store: Store) -> None:
    with pytest.raises(ValidationError, match="unknown event type"):
        store.emit("nonsense.happened", "x:1", {})
    with pytest.raises(ValidationError, match="kind:id"):
        store.emit("client.upserted", "no-colon", {"row": {}})
    assert store.last_seq() == 0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1, 2}, object()], ids=["nan", "inf", "set", "object"])
def test_non_json_payload_is_refused_and_nothing_written(store: Store, bad: object) -> None:
    with pytest.raises(ValidationError, match="not plain JSON"):
        upsert(store, "clients", {"id": "cl_1", "name": "A", "aliases": [bad]}, actor="t")
    assert store.last_seq() == 0 and store.scalar("SELECT count(*) FROM clients") == 0


def test_rebuild_projections_from_events_gives_the_same_tables(store: Store) -> None:
    from aios_kernel._entities._schema import entities

    for i in range(3):
        upsert(store, "clients", {"id": f"cl_{i}", "name": f"C{i}", "aliases": [f"c{i}"]}, actor="t")
    upsert(store, "clients", {"id": "cl_1", "name": "Renamed", "aliases": []}, actor="t")
    before = [dict(r) for r in store.query("SELECT * FROM clients ORDER BY id")]
    store.rebuild(entities)
    assert [dict(r) for r in store.query("SELECT * FROM clients ORDER BY id")] == before


def test_payloads_nested_too_deep_or_holding_lone_surrogates_are_refused_and_nothing_written(store: Store) -> None:
    from aios_kernel._store import _json
    from tests.fuzz._gen import nested

    with pytest.raises(ValidationError, match="nested too deeply"):
        _json.dumps({"deep": nested(100_000)})
    for entity, payload, actor, field in (("client:x", {"row": {"id": "x", "name": "bad \ud800"}}, "t", "payload"),
                                          ("client:\ud800", {"row": {"id": "x", "name": "ok"}}, "t", "entity"),
                                          ("client:x", {"row": {"id": "x", "name": "ok"}}, "\udcff", "actor")):
        with pytest.raises(ValidationError) as err:
            store.emit("client.upserted", entity, payload, actor=actor)
        assert err.value.field == field
    with pytest.raises(ValidationError, match="breaks a rule of the store"):
        store.emit("client.upserted", "client:y", {"row": {"id": "y", "name": None}})
    assert store.last_seq() == 0 and store.scalar("SELECT count(*) FROM clients") == 0
