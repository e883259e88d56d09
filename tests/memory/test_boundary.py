"""The memory API at its boundary: each value a hostile user tried is a clear error and writes nothing,
and a record an older version stored badly never stops the reads of the others."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import pytest

from aios_kernel import ValidationError, Workbench
from aios_kernel._store import DamagedRowWarning
from aios_kernel._values import describe
from tests.fuzz._gen import nested


def _counts(mem: Any) -> tuple[int, int, int]:
    s = mem.store
    return s.last_seq(), s.scalar("SELECT count(*) FROM memories"), s.scalar("SELECT count(*) FROM memory_content")


@pytest.mark.parametrize("kwargs, field", [
    ({"event_time": dt.date(999, 1, 1)}, "event_time"),
    ({"event_time": dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))}, "event_time"),
    ({"event_time": 1e20}, "event_time"),
    ({"event_time": "0999-01-01"}, "event_time"),
    ({"ttl": 1e300}, "ttl"),
    ({"ttl": 10 ** 30}, "ttl"),
    ({"meta": {"a": "\ud800"}}, "meta"),
    ({"meta": {"a": nested(100_000)}}, "meta"),
    ({"meta": {"n": 10 ** 30}}, "meta"),
    ({"source_ref": "ref\ud800"}, "source_ref"),
    ({"client": "cl\x00"}, "client"),
    ({"derived_from": "m_abc"}, "derived_from"),
    ({"derived_from": 5}, "derived_from"),
    ({"actor": ["a"]}, "actor"),
], ids=lambda v: describe(v)[:40])
def test_remember_refuses_what_cannot_be_stored_and_writes_nothing(mem: Any, kwargs: dict, field: str) -> None:
    before = _counts(mem)
    with pytest.raises(ValidationError) as err:
        mem.remember("a perfectly good text", **kwargs)
    assert err.value.field == field and field in str(err.value)
    assert _counts(mem) == before


@pytest.mark.parametrize("text", ["lone \ud800 surrogate", "nul \x00 inside", 42, None, ["a"]], ids=describe)
def test_remember_refuses_texts_that_are_not_storable(mem: Any, text: Any) -> None:
    before = _counts(mem)
    with pytest.raises(ValidationError) as err:
        mem.remember(text)
    assert err.value.field == "text" and _counts(mem) == before


def test_remember_many_checks_its_own_arguments(mem: Any) -> None:
    before = _counts(mem)
    for kwargs, field in (({"chunk": 0}, "chunk"), ({"chunk": 10 ** 9}, "chunk"), ({"reason": "\ud800"}, "reason")):
        with pytest.raises(ValidationError) as err:
            mem.remember_many(["one", "two"], **kwargs)
        assert err.value.field == field
    with pytest.raises(ValidationError, match="a list of texts") as err:
        mem.remember_many("not a list of texts")
    assert err.value.field == "items" and _counts(mem) == before


def test_times_at_the_edges_of_the_range_are_stored_and_read_back(mem: Any) -> None:
    first = mem.remember("The founding of the firm.", event_time=dt.date(1900, 1, 2))
    last = mem.remember("The end of the calendar.", event_time="9999-12-31T23:59:59")
    assert mem.get(first)["event_time"] == "1900-01-02T00:00:00.000000Z"
    assert mem.get(last)["event_time"] == "9999-12-31T23:59:59.000000Z"
    assert [h.id for h in mem.recall("founding of the firm", since="1900-01-01", until="1900-02-01")] == [first.id]
    assert [h.id for h in mem.recall("end of the calendar", since="9999-01-01")] == [last.id]


@pytest.mark.parametrize("kwargs, field", [
    ({"since": "0999-01-01"}, "since"),
    ({"until": 1e20}, "until"),
    ({"now": dt.datetime(1, 1, 1)}, "now"),
    ({"now": "yesterday"}, "now"),
    ({"k": 10 ** 20}, "k"),
    ({"k": 2.5}, "k"),
    ({"tier": 1}, "tier"),
    ({"kind": 3}, "kind"),
    ({"kind": ["note", "gossip"]}, "kind"),
    ({"where": {"a": float("nan")}}, "where"),
    ({"where": {"a": nested(5_000)}}, "where"),
    ({"client": ["x"]}, "client"),
], ids=lambda v: describe(v)[:40])
def test_recall_refuses_filters_out_of_range_or_of_the_wrong_kind(mem: Any, kwargs: dict, field: str) -> None:
    mem.remember("Nordlys prefers invoices in English.")
    with pytest.raises(ValidationError) as err:
        mem.recall("invoices", **kwargs)
    assert err.value.field == field


def test_changes_refuse_bad_ids_texts_reasons_and_actors(mem: Any) -> None:
    ref = mem.remember("The kick-off is on 2 September.")
    before = _counts(mem)
    attempts = [
        (lambda: mem.update(ref, "new \ud800 text", reason="fix"), "text"),
        (lambda: mem.update(ref, "new text", reason="fix", meta={"x": float("inf")}), "meta"),
        (lambda: mem.update(ref, "new text", reason="why \x00"), "reason"),
        (lambda: mem.forget("m_\ud800", reason="gone"), "id"),
        (lambda: mem.forget(ref, reason="gone", actor="a\nb"), "actor"),
        (lambda: mem.move(ref, "working", reason=["x"]), "reason"),
        (lambda: mem.mark_sensitive(ref, "yes"), "sensitive"),
        (lambda: mem.purge(ref, reason=""), "reason"),
        (lambda: mem.get("x" * 10_000), "id"),
        (lambda: mem.condense(ids=[ref], max_facts=0), "max_facts"),
        (lambda: mem.prune(now=dt.datetime(1, 1, 1)), "now"),
    ]
    for call, field in attempts:
        with pytest.raises(ValidationError) as err:
            call()
        assert err.value.field == field, (field, err.value)
    assert _counts(mem) == before


def test_a_record_stored_badly_by_an_older_version_does_not_poison_the_workspace(tmp_path: Path, minilm: Any) -> None:
    root = tmp_path / "ws"
    with Workbench.init(root) as wb:
        good = wb.memory.remember("The depot in Hamburg opens at six.")
        old_year = wb.memory.remember("A note an older version dated in the year 999.")
        damaged = wb.memory.remember("A note whose meta was damaged.")
        # What older versions could leave behind: an unpadded year (iso() wrote year 999 so), a meta that is not JSON.
        wb.store.conn.execute("UPDATE memories SET event_time='999-01-01T00:00:00.000000Z' WHERE id=?", (old_year.id,))
        wb.store.conn.execute("UPDATE memories SET meta='{not json' WHERE id=?", (damaged.id,))
        wb.store.conn.execute("UPDATE memory_versions SET meta='[[[' WHERE memory_id=?", (damaged.id,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Workbench.open(root) as wb:
            hits = wb.memory.recall("depot in Hamburg opens", k=5)
            assert hits[0].id == good.id
            ids = {h.id for h in wb.memory.recall("note older version year", k=5)}
            assert old_year.id in ids and damaged.id not in ids  # the readable one is found, the damaged one left out
            assert wb.memory.history(damaged.id)[0].meta == {}
            wb.memory.remember("Still writable after all this.")
            report = wb.verify()
    assert any(issubclass(w.category, DamagedRowWarning) and damaged.id in str(w.message) for w in caught)
    assert not report.ok
    problems = " ".join(report.problems)
    assert "memories.meta" in problems and damaged.id in problems
    assert "memories.event_time" in problems and "999-01-01" in problems and "outside the years 1900-9999" in problems
    assert "memory_versions.meta" in problems
    with Workbench.open(root) as wb:  # and again after reopening: close() and recall() keep working
        assert wb.memory.recall("depot", k=1)[0].id == good.id
