"""The memory explorer's model: search with filters and why, provenance, history with diffs, correct, forget."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def mws(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("explorer") / "ws"
    shutil.copytree(demo_template, root)
    return root


@pytest.fixture(scope="module")
def mwb(mws: Path) -> Iterator[Any]:
    """One workbench per module: the embedding model loads once for every search here."""
    from aios_kernel import Workbench

    w = Workbench.open(mws)
    w.memory.remember("Nordlys pays invoices in NOK, on the first Monday of the month.", tier="long-term",
                      kind="preference", client="nordlys", source="operator")
    w.memory.remember("Hallberg prefers workshops on Tuesdays.", tier="long-term", kind="preference",
                      client="hallberg", source="email:msg-17")
    yield w
    w.close()


def _explorer(wb: Any, made: list[Any], **kw: Any) -> Any:
    from aios_kernel.widgets import MemoryExplorer

    w = MemoryExplorer(wb, live=False, **kw)
    made.append(w)
    return w


def _remember(wb: Any, text: str, **kw: Any) -> str:
    return wb.memory.remember(text, **kw).id


def test_empty_search_lists_the_newest_under_the_filters(mwb, close_widgets):
    w = _explorer(mwb, close_widgets)
    assert w.searched == "newest" and 0 < len(w.results) <= w.k
    assert w.selected == w.results[0]["id"] and w.detail["record"]["id"] == w.selected
    prefs = w.search("", tier="long-term", kind="preference")
    assert {r["text"][:8] for r in prefs} == {"Nordlys ", "Hallberg"}
    assert all(r["tier"] == "long-term" and r["kind"] == "preference" for r in prefs)
    assert [r["text"][:8] for r in w.search("", client="hallberg")] == ["Hallberg"]
    choices = w.choices
    assert "long-term" in choices["tiers"] and "preference" in choices["kinds"]
    assert {"nordlys", "hallberg"} <= {c["id"] for c in choices["clients"]}
    json.dumps([w.results, w.detail, w.choices])


def test_search_shows_why_each_memory_matched_and_where_it_came_from(mwb, close_widgets):
    w = _explorer(mwb, close_widgets)
    hits = w.search("which currency does Nordlys pay invoices in")
    top = hits[0]
    assert top["text"].startswith("Nordlys pays invoices in NOK")
    assert top["score"] is not None and top["why"]["layers"] and "fused" in top["why"]
    assert top["source"] == "operator" and top["client"] == "nordlys" and top["ref"] == f"mem:{top['id']}@v1"
    filtered = w.search("which currency does Nordlys pay invoices in", client="hallberg")
    assert [h["client"] for h in filtered] == ["hallberg"]
    bad = w.handle({"op": "search", "query": "x", "filters": {"colour": "red"}})
    assert not bad["ok"] and bad["field"] == "colour"


def test_correct_writes_a_new_version_with_its_reason_and_a_diff(mwb, close_widgets):
    mid = _remember(mwb, "The Brightwater steering review is on 24 November at 10:00.", kind="meeting", project="BRW-01")
    w = _explorer(mwb, close_widgets)
    w.select(mid)
    d = w.correct(mid, "The Brightwater steering review is on 26 November at 14:00.", reason="moved by Felix")
    assert d["record"]["version"] == 2 and d["record"]["text"].startswith("The Brightwater steering review is on 26")
    newest, oldest = d["versions"]
    assert (newest["version"], newest["reason"]) == (2, "moved by Felix") and oldest["version"] == 1
    changed = {(s["op"], s["text"]) for s in newest["diff"]}
    assert ("del", "24") in changed and ("ins", "26") in changed
    assert ("del", "10") in changed and ("ins", "14") in changed
    assert [e["type"] for e in d["events"]] == ["memory.created", "memory.updated"]
    assert mwb.memory.get(mid)["version"] == 2 and mwb.memory.history(mid)[1].reason == "moved by Felix"


@pytest.mark.parametrize("args, field", [
    ({"text": "A new text.", "reason": ""}, "reason"),
    ({"text": "The same words.", "reason": "no change"}, "text"),
    ({"text": "   ", "reason": "blank"}, "text"),
], ids=["no-reason", "unchanged", "blank-text"])
def test_a_bad_correction_is_shown_and_writes_nothing(mwb, close_widgets, args, field):
    mid = _remember(mwb, "The same words.", kind="fact")
    w = _explorer(mwb, close_widgets)
    reply = w.handle({"op": "correct", "id": mid, **args})
    assert not reply["ok"] and reply["field"] == field and reply["message"]
    assert mwb.memory.get(mid)["version"] == 1


def test_forget_needs_a_reason_and_keeps_the_history(mwb, close_widgets):
    mid = _remember(mwb, "Kivi's budget is 40k.", kind="fact", client="kivi")
    w = _explorer(mwb, close_widgets)
    w.search("", client="kivi")
    assert not w.handle({"op": "forget", "id": mid, "reason": ""})["ok"]
    d = w.forget(mid, "that was a guess, not a fact")
    assert d["record"]["status"] == "forgotten" and d["record"]["status_reason"] == "that was a guess, not a fact"
    assert len(d["versions"]) == 1 and d["versions"][0]["text"] == "Kivi's budget is 40k."
    assert next(r for r in w.results if r["id"] == mid)["status"] == "forgotten"
    assert mwb.memory.get(mid)["status"] == "forgotten"
    assert w.search("", client="kivi") == []  # gone from listings


def test_changes_made_elsewhere_are_marked_on_the_next_poll(mwb, mws, close_widgets):
    from aios_kernel import Workbench

    a = _remember(mwb, "Veldhoven calls are on Mondays.", kind="fact", client="veldhoven")
    b = _remember(mwb, "Veldhoven invoices go to Sanne.", kind="fact", client="veldhoven")
    w = _explorer(mwb, close_widgets)
    w.search("", client="veldhoven")
    w.select(a)
    assert w.poll() is False
    with Workbench.open(mws) as other:
        other.memory.update(a, "Veldhoven calls are on Tuesdays.", reason="new schedule")
        other.memory.forget(b, reason="Sanne left")
    assert w.poll() is True
    marks = {r["id"]: r["changed"] for r in w.results}
    assert marks[a] == "now version 2" and marks[b].startswith("forgotten")
    assert w.detail["record"]["version"] == 2  # the open detail follows the store


def test_explore_from_the_memory_object(mwb, close_widgets):
    from aios_kernel.widgets import explore_memory

    w = explore_memory(mwb.memory)
    close_widgets.append(w)
    assert not w.error and w.results

    w2 = explore_memory(mwb.memory, "Hallberg workshops", live=False)
    close_widgets.append(w2)
    assert w2.results[0]["text"].startswith("Hallberg prefers workshops")


def test_unknown_memory_is_an_error_in_the_widget(mwb, close_widgets):
    w = _explorer(mwb, close_widgets)
    reply = w.handle({"op": "select", "id": "m_nope"})
    assert not reply["ok"] and reply["error_type"] == "NotFoundError"


def test_diff_segments_are_word_level():
    from aios_kernel.widgets._memory_explorer import diff_segments, unified_diff

    segs = diff_segments("pay in NOK monthly", "pay in EUR monthly")
    assert segs == [{"op": "eq", "text": "pay in "}, {"op": "del", "text": "NOK"}, {"op": "ins", "text": "EUR"},
                    {"op": "eq", "text": " monthly"}]
    assert diff_segments(None, "new") == [{"op": "ins", "text": "new"}]
    assert "-a\n+b\n" in unified_diff("a\n", "b\n")
