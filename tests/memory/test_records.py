"""Records, versions, tombstones, provenance and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aios_kernel import NotFoundError, ValidationError
from aios_kernel._memory import MemoryRef


def test_remember_returns_a_ref_and_meta_round_trips(mem) -> None:
    meta = {"dia_id": "D1:3", "speaker": "Caroline", "nested": {"a": [1, 2.5, None, True]}}
    ref = mem.remember("Caroline went to a support group yesterday.", meta=meta, event_time="2023-05-08T13:56")
    assert isinstance(ref, MemoryRef) and isinstance(ref, str)
    assert str(ref) == f"mem:{ref.id}@v1" and ref.version == 1
    hits = mem.recall("support group", k=3)
    assert hits[0].id == ref.id and hits[0].meta == meta
    assert hits[0].ref == ref and hits[0].event_time == "2023-05-08T13:56:00.000000Z"
    assert set(hits[0].why["layers"]) >= {"bm25", "dense"}


def test_update_keeps_every_version_with_actor_reason_time(mem) -> None:
    ref = mem.remember("The kick-off is on 2 September.", kind="fact", tier="long-term")
    new = mem.update(ref.id, "The kick-off moved to 3 September.", reason="client moved it", actor="agent:triage@1")
    assert new.id == ref.id and new.version == 2
    versions = mem.history(ref)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].text == "The kick-off is on 2 September."
    assert versions[1].text == "The kick-off moved to 3 September."
    assert versions[1].reason == "client moved it" and versions[1].actor == "agent:triage@1"
    assert versions[0].at <= versions[1].at
    hits = mem.recall("kick-off date", k=1)
    assert hits[0].text.endswith("3 September.") and hits[0].version == 2


def test_update_needs_a_reason_and_unchanged_text_writes_nothing(mem) -> None:
    ref = mem.remember("A fact that will not change.")
    with pytest.raises(ValidationError, match="reason"):
        mem.update(ref.id, "changed", reason="  ")
    seq = mem.store.last_seq()
    assert mem.update(ref.id, "A fact that will not change.", reason="no-op") == ref
    assert mem.store.last_seq() == seq


def test_forget_is_honoured_at_once_and_kept_in_the_audit_trail(mem) -> None:
    keep = mem.remember("Nordlys prefers invoices in English.")
    gone = mem.remember("Nordlys prefers invoices in Norwegian.")
    assert gone.id in {h.id for h in mem.recall("Nordlys invoices language", k=5)}
    mem.forget(gone, reason="wrong: they asked for English")
    ids = {h.id for h in mem.recall("Nordlys invoices language", k=5)}
    assert gone.id not in ids and keep.id in ids
    assert [e.type for e in mem.audit(gone.id)] == ["memory.created", "memory.forgotten"]
    assert mem.audit(gone.id)[-1].payload["reason"] == "wrong: they asked for English"
    assert [v.text for v in mem.history(gone.id)] == ["Nordlys prefers invoices in Norwegian."]
    assert mem.get(gone.id)["status"] == "forgotten"
    with pytest.raises(ValidationError, match="forgotten"):
        mem.update(gone.id, "again", reason="x")


def test_forget_of_an_unknown_id_is_a_clear_error(mem) -> None:
    with pytest.raises(NotFoundError, match="no memory with id 'm_nope'"):
        mem.forget("m_nope", reason="test")
    with pytest.raises(ValidationError, match="reason"):
        mem.forget(mem.remember("x y z"), reason="")


def test_provenance_source_and_derived_from(mem) -> None:
    a = mem.remember("Email from Felix about the depot visit.", kind="email", source="email:<msg-1@bw.example>")
    b = mem.remember("Maja's note on the depot visit.", source="file", source_ref="notes/visit.md")
    s = mem.remember("Depot visit planned (from the email and the note).", kind="summary", source="agent",
                     derived_from=[a, b.id])
    row = mem.get(s.id)
    assert (row["source"], row["derived_from"]) == ("agent", [a.id, b.id])
    assert mem.get(a.id)["source_ref"] == "<msg-1@bw.example>"
    assert (mem.get(b.id)["source"], mem.get(b.id)["source_ref"]) == ("file", "notes/visit.md")
    with pytest.raises(ValidationError, match="unknown source"):
        mem.remember("x", source="pigeon")


def test_tiers_and_moves_are_events(mem) -> None:
    ref = mem.remember("Draft idea for the autumn newsletter.", tier="session", kind="draft")
    assert mem.get(ref.id)["tier"] == "session"
    mem.promote(ref.id, reason="worth keeping")
    assert mem.get(ref.id)["tier"] == "working"
    mem.move(ref.id, "long_term", reason="canonical")
    assert mem.get(ref.id)["tier"] == "long-term"
    moves = [e.payload for e in mem.audit(ref.id) if e.type == "memory.moved"]
    assert [(m["from"], m["to"]) for m in moves] == [("session", "working"), ("working", "long-term")]
    assert [h.id for h in mem.recall("newsletter idea", tier="long-term")] == [ref.id]
    assert mem.recall("newsletter idea", tier="session") == []


def test_session_memories_end_with_the_session(tmp_path, minilm) -> None:
    from aios_kernel import Workbench

    wb = Workbench.init(tmp_path / "ws")
    temp = wb.memory.remember("scratch: the call is at 3pm", tier="session")
    kept = wb.memory.remember("scratch: promote me", tier="session")
    wb.memory.promote(kept, reason="useful")
    wb.close()
    with Workbench.open(tmp_path / "ws") as wb:
        assert wb.memory.get(temp.id)["status"] == "expired"
        assert wb.memory.get(temp.id)["status_reason"] == "session ended"
        assert wb.memory.get(kept.id)["status"] == "active"
        assert [h.id for h in wb.memory.recall("scratch call", k=5)] == [kept.id]


def test_bad_input_is_refused_and_writes_nothing(mem) -> None:
    seq = mem.store.last_seq()
    cases = [
        ({"text": ""}, "empty"),
        ({"text": "   \n\t"}, "empty"),
        ({"text": "x" * 10_000_001}, "limit"),
        ({"text": b"caf\xe9 au lait"}, "UTF-8"),
        ({"text": "ok", "meta": {"score": float("nan")}}, "meta is not plain JSON"),
        ({"text": "ok", "meta": {"when": datetime.now(UTC)}}, "meta is not plain JSON"),
        ({"text": "ok", "meta": ["not", "a", "dict"]}, "meta must be a dict"),
        ({"text": "ok", "tier": "forever"}, "unknown memory tier"),
        ({"text": "ok", "kind": "gossip"}, "unknown memory kind"),
        ({"text": "ok", "event_time": "not a date"}, "not a time"),
        ({"text": "ok", "ttl": -1}, "ttl"),
        ({"text": "\ud800 lone surrogate"}, "not valid Unicode"),
    ]
    for item, message in cases:
        with pytest.raises(ValidationError, match=message):
            mem.remember_many([{"text": "a good item first"}, item])
    assert mem.store.last_seq() == seq
    assert mem.store.scalar("SELECT count(*) FROM memories") == 0
    assert mem.store.scalar("SELECT count(*) FROM memory_content") == 0


def test_valid_utf8_bytes_are_accepted(mem) -> None:
    ref = mem.remember("Köhler".encode())
    assert mem.get(ref.id)["text"] == "Köhler"


def test_identical_items_dedup_to_one_record(mem) -> None:
    items = [{"text": "same text", "meta": {"k": 1}}, {"text": "same text", "meta": {"k": 1}},
             {"text": "same text", "meta": {"k": 2}}]
    refs = mem.remember_many(items)
    assert refs[0] == refs[1] and refs[0].id != refs[2].id
    again = mem.remember_many(items)
    assert again == refs
    assert mem.store.scalar("SELECT count(*) FROM memories") == 2
    assert mem.store.scalar("SELECT count(*) FROM memory_content") == 1
    assert mem.store.scalar("SELECT count(*) FROM memory_embeddings") == 1


def test_purge_removes_text_and_vectors_but_keeps_the_chain(mem) -> None:
    ref = mem.remember("Client bank account IBAN DE00 1234", sensitive=True)
    v2 = mem.update(ref, "Client bank account IBAN DE00 5678", reason="corrected")
    assert mem.is_sensitive(v2)
    hashes = mem.purge(ref.id, reason="client asked to delete")
    assert len(hashes) == 2
    assert [v.text for v in mem.history(ref.id)] == [None, None]
    assert mem.get(ref.id)["status"] == "purged"
    assert mem.store.scalar("SELECT count(*) FROM memory_content WHERE text IS NOT NULL") == 0
    assert mem.store.scalar("SELECT count(*) FROM memory_embeddings") == 0
    assert mem.recall("IBAN bank account", k=5) == []
    assert mem.store.verify().ok
    text_in_log = mem.store.scalar("SELECT count(*) FROM events WHERE payload LIKE '%IBAN%'")
    assert text_in_log == 0


def test_sensitive_flag_is_on_hits_and_can_be_set(mem) -> None:
    ref = mem.remember("Maja's private phone number is 0170 000000")
    assert mem.recall("phone number", k=1)[0].sensitive is False
    mem.mark_sensitive(ref.id, reason="personal data")
    assert mem.recall("phone number", k=1)[0].sensitive is True
    assert mem.audit(ref.id)[-1].type == "memory.marked"


def test_rebuild_from_the_event_log_gives_the_same_projection(mem) -> None:
    from aios_kernel._memory._schema import memory as component

    a = mem.remember("one", meta={"x": 1})
    mem.update(a, "one, corrected", reason="typo")
    b = mem.remember("two", tier="session")
    mem.move(b, "working")
    mem.forget(mem.remember("three"), reason="wrong")
    before = [tuple(r) for r in mem.store.query("SELECT * FROM memories ORDER BY id")]
    versions = [tuple(r) for r in mem.store.query("SELECT * FROM memory_versions ORDER BY memory_id, version")]
    mem.store.rebuild(component)
    assert [tuple(r) for r in mem.store.query("SELECT * FROM memories ORDER BY id")] == before
    assert [tuple(r) for r in mem.store.query("SELECT * FROM memory_versions ORDER BY memory_id, version")] == versions
