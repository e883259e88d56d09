"""Property tests: versions, tombstones, dedup, fusion, retention, date words."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aios_kernel import Workbench
from aios_kernel._ids import utcnow
from aios_kernel._memory._retrieve import fuse, scale
from aios_kernel._memory._timeparse import query_window

FIXTURE_OK = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_counter = itertools.count()
WORDS = st.sampled_from(["depot", "invoice", "driver", "budget", "review", "upload", "photo", "route", "hours"])


def unique() -> str:
    return f"uq{next(_counter)}x"


@FIXTURE_OK
@given(texts=st.lists(st.lists(WORDS, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=6))
def test_history_holds_every_change_in_order(mem, texts: list[str]) -> None:
    tag = unique()
    ref = mem.remember(f"{tag} start")
    expected = [f"{tag} start"]
    for i, t in enumerate(texts):
        new = mem.update(ref, f"{tag} {t}", reason=f"edit {i}")
        if f"{tag} {t}" != expected[-1]:
            expected.append(f"{tag} {t}")
        assert new.version == len(expected)
    history = mem.history(ref.id)
    assert [v.text for v in history] == expected
    assert [v.version for v in history] == list(range(1, len(expected) + 1))
    assert mem.get(ref.id)["text"] == expected[-1]
    assert all(v.reason.startswith("edit") for v in history[1:])


@FIXTURE_OK
@given(n=st.integers(1, 8), data=st.data())
def test_forgotten_memories_never_come_back(mem, n: int, data: st.DataObject) -> None:
    tag = unique()
    refs = mem.remember_many([f"{tag} record number {i}" for i in range(n)])
    gone = data.draw(st.sets(st.sampled_from(range(n)), max_size=n))
    for i in gone:
        mem.forget(refs[i], reason="property test")
    hits = {h.id for h in mem.recall(tag, k=n + 5, where=None) if h.text.startswith(tag)}
    assert hits == {refs[i].id for i in range(n) if i not in gone}


@FIXTURE_OK
@given(items=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 2)), min_size=1, max_size=10))
def test_duplicates_collapse_and_reruns_return_the_same_refs(mem, items: list[tuple[str, int]]) -> None:
    tag = unique()
    batch = [{"text": f"{tag} {t}", "meta": {"n": n}} for t, n in items]
    before = mem.store.scalar("SELECT count(*) FROM memories")
    refs = mem.remember_many(batch)
    assert mem.store.scalar("SELECT count(*) FROM memories") - before == len(set(items))
    assert len({r.id for r in refs}) == len(set(items))
    for (item, ref) in zip(items, refs):
        assert refs[items.index(item)] == ref
    assert mem.remember_many(batch) == refs


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=50))
def test_scale_maps_a_list_onto_zero_one_keeping_order(values: list[float]) -> None:
    out = scale(values)
    assert np.all(out >= 0) and np.all(out <= 1 + 1e-12)
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(out[order]) >= -1e-12)
    if max(values) - min(values) > 1e-9:
        assert out[int(np.argmax(values))] == 1.0 and out[int(np.argmin(values))] == 0.0


@settings(max_examples=200, deadline=None)
@given(a=st.lists(st.integers(0, 30), min_size=1, max_size=12, unique=True),
       b=st.lists(st.integers(0, 30), min_size=1, max_size=12, unique=True),
       wa=st.floats(0.1, 3), wb=st.floats(0.1, 3))
def test_fusion_rewards_agreement(a: list[int], b: list[int], wa: float, wb: float) -> None:
    ra = np.linspace(10, 1, len(a))
    rb = np.linspace(0.9, 0.1, len(b))
    fused, why = fuse([("bm25", wa, a, ra), ("dense", wb, b, rb)])
    assert set(fused) == set(a) | set(b)
    for s, score in fused.items():
        expect = (wa * scale(ra)[a.index(s)] if s in a else 0) + (wb * scale(rb)[b.index(s)] if s in b else 0)
        assert abs(score - expect) < 1e-9
        assert set(why[s]["layers"]) == {n for n, lst in (("bm25", a), ("dense", b)) if s in lst}
    if a[0] == b[0]:
        assert fused[a[0]] == max(fused.values())  # both layers' first is the fused first


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(0, 6), cap=st.integers(1, 4), ttl=st.integers(1, 20), age=st.integers(0, 30))
def test_prune_removes_exactly_what_the_policy_says(tmp_path_factory, minilm, count: int, cap: int, ttl: int, age: int) -> None:
    root = tmp_path_factory.mktemp("ret") / "ws"
    Workbench.init(root).close()
    (root / "aios.toml").write_text((root / "aios.toml").read_text()
                                    + f"\n[memory.retention.working.draft]\nmax_records = {cap}\n"
                                    + f"\n[memory.retention.working.note]\nttl_days = {ttl}\n")
    with Workbench.open(root) as wb:
        drafts = [wb.memory.remember(f"draft {i}", kind="draft") for i in range(count)]
        note = wb.memory.remember("a note", kind="note")
        report = wb.memory.prune(now=utcnow() + timedelta(days=age, hours=1))
        removed = {m for m, _ in report.removed}
        assert removed & {d.id for d in drafts} == {d.id for d in drafts[: max(0, count - cap)]}
        assert (note.id in removed) == (age + 1 / 24 > ttl)
        assert len(report.removed) == len(wb.store.events(type="memory.expired"))


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 30), unit=st.sampled_from(["day", "week", "month", "year"]),
       now=st.datetimes(min_value=datetime(2000, 3, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)))
def test_ago_windows_contain_the_day_they_name(n: int, unit: str, now: datetime) -> None:
    assume(unit != "month" or n <= 12)
    w = query_window(f"what happened {n} {unit}{'s' if n > 1 else ''} ago?", now)
    assert w is not None and w.start < w.end
    target = {"day": now - timedelta(days=n), "week": now - timedelta(weeks=n)}.get(unit)
    if target is not None:
        assert w.contains(target.replace(hour=12, minute=0, second=0, microsecond=0))
    elif unit == "year":
        assert w.start.year == now.year - n
    else:
        assert w.start <= now and (now - w.start).days <= 31 * n + 31
