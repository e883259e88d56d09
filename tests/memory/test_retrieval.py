"""Layered retrieval: exact filters, fusion, episodes, speakers, dates, why and refs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aios_kernel import ValidationError
from aios_kernel._memory import RetrievalParams


def test_exact_filters(mem) -> None:
    a = mem.remember("Budget for Brightwater is 120 hours.", tier="long-term", kind="fact", client="cl_bw", project="pr_brw",
                     meta={"confidence": "high", "lang": "en"}, event_time="2026-09-02")
    b = mem.remember("Budget for Nordlys is 80 hours.", tier="long-term", kind="fact", client="cl_nl", project="pr_nl",
                     meta={"confidence": "low", "lang": "en"}, event_time="2026-10-05")
    c = mem.remember("Budget draft for the newsletter.", tier="working", kind="draft", meta={"lang": "de"},
                     event_time="2026-11-20")
    ids = lambda **kw: [h.id for h in mem.recall("budget hours", k=10, **kw)]  # noqa: E731
    assert set(ids()) == {a.id, b.id, c.id}
    assert ids(tier="working") == [c.id]
    assert set(ids(tier=["long-term", "session"])) == {a.id, b.id}
    assert ids(kind="draft") == [c.id]
    assert ids(client="cl_nl") == [b.id]
    assert ids(project="pr_brw") == [a.id]
    assert ids(where={"confidence": "high"}) == [a.id]
    assert set(ids(where={"confidence": ["high", "low"], "lang": "en"})) == {a.id, b.id}
    assert ids(where={"lang": "fr"}) == []
    assert set(ids(since="2026-10-01")) == {b.id, c.id}
    assert ids(since=datetime(2026, 10, 1, tzinfo=UTC), until="2026-11-01") == [b.id]
    with pytest.raises(ValidationError, match="unknown memory kind"):
        mem.recall("budget", kind="gossip")
    with pytest.raises(ValidationError, match="non-empty query"):
        mem.recall("   ")
    with pytest.raises(ValidationError, match="positive int"):
        mem.recall("budget", k=0)


def test_hits_say_why_and_carry_a_ref(mem) -> None:
    ref = mem.remember("The steering review is on 20 November in Billbrook.")
    mem.remember("Unrelated: the printer needs toner.")
    hit = mem.recall("steering review Billbrook", k=1)[0]
    assert hit.ref == ref and str(hit.ref) == f"mem:{ref.id}@v1"
    assert hit.why["layers"] == ["bm25", "dense"]
    assert hit.why["bm25_rank"] == 1 and hit.why["dense_rank"] == 1 and hit.why["dense"] > 0.3
    assert hit.score == pytest.approx(hit.why["fused"], abs=1e-3)
    html = mem.recall("steering review", k=2)._repr_html_()
    assert "mem:" in html and "bm25" in html and "operator" in html


def test_keyword_and_semantic_layers_both_contribute(mem) -> None:
    kw = mem.remember("Order reference XJ-4471 was delayed.")
    sem = mem.remember("The parcel arrived two days behind schedule.")
    mem.remember_many([f"Filler note {i} about office plants." for i in range(8)])
    hits = mem.recall("XJ-4471 late delivery", k=2)
    assert {h.id for h in hits} == {kw.id, sem.id}
    assert "bm25" in next(h for h in hits if h.id == kw.id).why["layers"]
    assert next(h for h in hits if h.id == sem.id).why["layers"] == ["dense"]


def test_episodic_expansion_brings_the_neighbouring_turn(mem) -> None:
    turns = [
        ("Melanie", "What did you find out about the agencies?"),
        ("Caroline", "I looked into adoption agencies last week."),
        ("Caroline", "The one in town focuses on older kids."),
        ("Melanie", "That sounds like a good fit."),
    ]
    refs = mem.remember_many([{"text": f"{s}: {t}", "kind": "turn", "meta": {"session": "s1", "speaker": s, "i": i}}
                              for i, (s, t) in enumerate(turns)])
    mem.remember_many([{"text": f"Melanie: I painted a lake scene number {i}.", "kind": "turn", "meta": {"session": "s2", "speaker": "Melanie"}}
                       for i in range(6)])
    hits = mem.recall("adoption agencies", k=4)
    by_id = {h.id: h for h in hits}
    assert refs[1].id in by_id and refs[2].id in by_id
    assert "episode" in by_id[refs[2].id].why["layers"] or by_id[refs[2].id].why.get("dense_rank")
    plain = mem.recall("adoption agencies", k=4, params=RetrievalParams(expand_width=0))
    assert all("episode" not in h.why["layers"] for h in plain)


def test_a_named_speaker_is_preferred(mem) -> None:
    mem.remember_many([
        {"text": "Melanie: I went camping with the kids last weekend.", "meta": {"speaker": "Melanie"}},
        {"text": "Caroline: I went camping near the lake last summer.", "meta": {"speaker": "Caroline"}},
    ])
    hit = mem.recall("Where did Caroline go camping?", k=1)[0]
    assert hit.meta["speaker"] == "Caroline" and hit.why.get("speaker") is True
    hit = mem.recall("Where did Melanie go camping?", k=1)[0]
    assert hit.meta["speaker"] == "Melanie"
    # a speaker's later memories count too (what is known of a speaker is kept between recalls)
    later = mem.remember("We hiked up to the glacier in August.", meta={"speaker": "Caroline"})
    hits = {h.id: h for h in mem.recall("Where did Caroline hike to the glacier?", k=3)}
    assert hits[later.id].why.get("speaker") is True
    mem.update(later, "We hiked up to the glacier in August.", reason="it was Melanie", meta={"speaker": "Melanie"})
    hits = {h.id: h for h in mem.recall("Where did Caroline hike to the glacier?", k=3)}
    assert later.id in hits and not hits[later.id].why.get("speaker")
    hits = {h.id: h for h in mem.recall("Where did Melanie hike to the glacier?", k=3)}
    assert hits[later.id].why.get("speaker") is True


def test_date_words_favour_the_window(mem) -> None:
    may = mem.remember("Team dinner at the harbour restaurant.", event_time="2023-05-12")
    june = mem.remember("Team dinner at the harbour restaurant, second time.", event_time="2023-06-20")
    now = datetime(2023, 6, 22, tzinfo=UTC)
    assert mem.recall("team dinner in May 2023", k=1, now=now)[0].id == may.id
    assert mem.recall("team dinner in May 2023", k=1, now=now)[0].why["time"] == "in May 2023"
    assert mem.recall("team dinner 2 days ago", k=1, now=now)[0].id == june.id
    assert mem.recall("team dinner last month", k=1, now=now)[0].id == may.id


def test_identical_texts_are_returned_once(mem) -> None:
    a = mem.remember("Call Felix about the depot visit.", meta={"n": 1})
    mem.remember("Call Felix about the depot visit.", meta={"n": 2})
    hits = mem.recall("call Felix depot", k=5)
    assert [h.text for h in hits].count("Call Felix about the depot visit.") == 1
    assert hits[0].id == a.id
