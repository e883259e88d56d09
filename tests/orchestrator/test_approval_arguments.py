"""An approval's public methods check their arguments before anything is decided: a wrong one is a
ValidationError naming it, the approval stays open, and nothing is written or sent."""

from __future__ import annotations

import datetime as dt

import pytest

from aios_kernel import AgentResult, Evidence, Step, ValidationError

from .conftest import ledger_lines
from .helpers import agent, define

PAYLOAD = {"to": ["ingrid@nordlys.no"], "subject": "October invoice", "count": 3, "note": None}


def _approval(twb, options: bool = False):  # type: ignore[no-untyped-def]
    extra = {"options": [{"id": "a", "label": "A", "payload": {"text": "A"}}]} if options else {}
    agent("t.args", lambda ctx: AgentResult({"payload": dict(PAYLOAD), "title": "send it?", **extra},
                                            evidence=[Evidence("artifact:x", "x", "test")], confidence=0.9))
    if options:
        twb.config.data["policies"]["actions"]["t_pick"] = "options"
    define("t_args", [Step("do", "t.args", action="t_pick" if options else "t_send")])
    twb.run("t_args")
    [a] = twb.approvals.pending()
    return a


@pytest.mark.parametrize("call, field", [
    (lambda a: a.approve(by=["a"]), "by"),
    (lambda a: a.approve(by="x" * 1_000), "by"),
    (lambda a: a.approve(edits={"to": 10 ** 30}), "to"),
    (lambda a: a.approve(edits={"to": "felix@brightwater-logistics.de"}), "to"),
    (lambda a: a.approve(edits={"to": [7]}), "to[0]"),
    (lambda a: a.approve(edits={"subject": ["a list"]}), "subject"),
    (lambda a: a.approve(edits={"count": "three"}), "count"),
    (lambda a: a.approve(edits={"subject": "bad \ud800"}), "subject"),
    (lambda a: a.approve(edits=["to"]), "edits"),
    (lambda a: a.approve(edits={"nope": "x"}), "nope"),
    (lambda a: a.reject("why \x00", by="operator"), "reason"),
    (lambda a: a.reject("ok", by=None), "by"),
    (lambda a: a.choose(["do"]), "option"),
    (lambda a: a.defer(until="tomorrow"), "until"),
    (lambda a: a.defer(until=2 ** 70), "until"),
    (lambda a: a.defer(until=dt.datetime(1, 1, 1)), "until"),
    (lambda a: a.defer(until="2026-12-01", reason=["x"]), "reason"),
], ids=["by list", "by too long", "to 10**30", "to a string", "to [7]", "subject list", "count text", "surrogate",
        "edits list", "unknown field", "NUL reason", "by None", "choose list", "defer tomorrow", "defer 2**70",
        "defer year 1", "reason list"])
def test_a_wrong_argument_is_refused_and_nothing_is_decided(twb, fast_ws, call, field) -> None:  # type: ignore[no-untyped-def]
    a = _approval(twb)
    seq = twb.store.last_seq()
    with pytest.raises(ValidationError) as err:
        call(a)
    assert err.value.field == field
    assert twb.store.last_seq() == seq and twb.approvals.get(a.id).status == "pending"
    twb.run_pending()
    assert ledger_lines(fast_ws) == []


def test_an_edit_of_the_same_kind_is_applied_and_sent(twb, fast_ws) -> None:  # type: ignore[no-untyped-def]
    a = _approval(twb)
    a.approve(edits={"to": ["felix@brightwater-logistics.de"], "count": 4, "note": "added"}, by="maja")
    twb.run_pending()
    [sent] = ledger_lines(fast_ws)
    assert sent["payload"]["to"] == ["felix@brightwater-logistics.de"] and sent["payload"]["count"] == 4
    assert twb.approvals.get(a.id).decided_by == "maja"


def test_defer_takes_a_datetime_and_stores_a_time_that_compares(twb) -> None:  # type: ignore[no-untyped-def]
    a = _approval(twb)
    a.defer(until=dt.datetime(2999, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))), reason="after the audit")
    assert twb.approvals.get(a.id).deferred_until == "2999-01-01T10:00:00.000000Z"
    assert twb.approvals.pending() == []
    a.defer(until=dt.date(2000, 1, 1))
    assert [x.id for x in twb.approvals.pending()] == [a.id]  # its time has come


def test_choose_checks_the_option_it_is_given(twb) -> None:  # type: ignore[no-untyped-def]
    a = _approval(twb, options=True)
    with pytest.raises(ValidationError, match="no option") as err:
        a.choose("b")
    assert err.value.field == "option"
    assert a.choose("A").choice == "a"
