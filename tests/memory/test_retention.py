"""Retention: ttls, per tier and per kind policies, caps, and the prune job's audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aios_kernel import ConfigError, Workbench
from aios_kernel._ids import utcnow

POLICY = """
[memory.retention.working]
ttl_days = 30

[memory.retention.working.draft]
ttl_days = 7

[memory.retention."long-term.preference"]
max_records = 2
"""


@pytest.fixture
def pwb(tmp_path, minilm):
    root = tmp_path / "ws"
    Workbench.init(root).close()
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text() + POLICY)
    wb = Workbench.open(root)
    yield wb
    wb.close()


def test_policies_expire_by_tier_kind_and_cap_with_reasons(pwb) -> None:
    mem = pwb.memory
    note = mem.remember("Working note about the Bremen visit.", kind="note")
    draft = mem.remember("Draft reply to Felix.", kind="draft")
    fact = mem.remember("Brightwater's COO is Martina Krüger.", tier="long-term", kind="fact")
    prefs = [mem.remember(f"Preference {i}: invoices in English.", tier="long-term", kind="preference") for i in range(4)]
    short = mem.remember("Call back before noon.", ttl=0.5)

    report = mem.prune(now=utcnow() + timedelta(days=1))
    assert dict(report.removed) == {
        short.id: report.removed[[m for m, _ in report.removed].index(short.id)][1],
        prefs[0].id: "beyond the newest 2 (memory.retention.long-term.preference.max_records)",
        prefs[1].id: "beyond the newest 2 (memory.retention.long-term.preference.max_records)",
    }
    assert "ttl ran out" in dict(report.removed)[short.id]

    report = mem.prune(now=utcnow() + timedelta(days=8))
    assert dict(report.removed) == {draft.id: "older than 7 days (memory.retention.working.draft.ttl_days)"}
    report = mem.prune(now=utcnow() + timedelta(days=31))
    assert dict(report.removed) == {note.id: "older than 30 days (memory.retention.working.ttl_days)"}
    assert mem.get(fact.id)["status"] == "active"

    events = pwb.store.events(type="memory.expired")
    assert {e.entity.split(":")[1] for e in events} == {short.id, prefs[0].id, prefs[1].id, draft.id, note.id}
    assert all(e.actor == "system:prune" and e.payload["reason"] and e.correlation_id for e in events)
    assert {h.id for h in mem.recall("invoices in English preference", k=10, kind="preference")} == {prefs[2].id, prefs[3].id}
    assert mem.history(note.id)[0].text == "Working note about the Bremen visit."  # a tombstone, not a deletion


def test_dry_run_changes_nothing(pwb) -> None:
    mem = pwb.memory
    ref = mem.remember("Draft tweet.", kind="draft")
    seq = pwb.store.last_seq()
    report = mem.prune(now=utcnow() + timedelta(days=10), dry_run=True)
    assert [m for m, _ in report.removed] == [ref.id] and "would expire" in str(report)
    assert pwb.store.last_seq() == seq and mem.get(ref.id)["status"] == "active"


def test_prune_twice_removes_nothing_more(pwb) -> None:
    pwb.memory.remember("Draft tweet.", kind="draft")
    later = utcnow() + timedelta(days=10)
    assert len(pwb.memory.prune(now=later)) == 1
    seq = pwb.store.last_seq()
    assert len(pwb.memory.prune(now=later)) == 0 and pwb.store.last_seq() == seq


def test_session_memories_of_a_crashed_session_expire_after_a_day(tmp_path, minilm) -> None:
    root = tmp_path / "ws"
    wb = Workbench.init(root)
    ref = wb.memory.remember("scratch from a kernel that died", tier="session")
    wb.memory._closed = True  # the kernel dies: close() never runs for this session
    wb.store.close()
    with Workbench.open(root) as again:
        assert again.memory.get(ref.id)["status"] == "active"
        assert len(again.memory.prune()) == 0
        report = again.memory.prune(now=utcnow() + timedelta(days=2))
        assert [m for m, _ in report.removed] == [ref.id]
        assert "ended session" in report.removed[0][1]


def test_an_unknown_tier_in_the_policy_is_a_config_error(tmp_path, minilm) -> None:
    root = tmp_path / "ws"
    Workbench.init(root).close()
    (root / "aios.toml").write_text((root / "aios.toml").read_text() + "\n[memory.retention.forever]\nttl_days = 1\n")
    with Workbench.open(root) as wb, pytest.raises(ConfigError, match="unknown memory tier 'forever'") as info:
        wb.memory.prune()
    assert info.value.key == "memory.retention.forever"
