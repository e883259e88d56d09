"""A scheduling reply from the inbox triage, end to end: a real Radicale CalDAV server and a real SMTP server on 127.0.0.1.

The reply offers only times that are free on the server, in the future and in
working hours; the operator's one decision picks the time to hold; the hold is
created exactly once (tentative, the sender invited) and the reply that names
it goes out exactly once. A reply that cannot go out after its time was held
releases the time (the saga's compensation deletes the event on the server).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from benchmarks._fast import make_fast
from tests.connectors.conftest import Smtp, email_settings
from tests.connectors.radicale import Radicale
from tests.connectors.test_calendar import busy_on_server, on_server, vevent

BERLIN = ZoneInfo("Europe/Berlin")
PIETER = "p.devries@veldhovenhealth.nl"
TOMAS = "tomas.ferreira@mareshotels.pt"
DENTIST = "DTSTART:20261203T083000Z\nDTEND:20261203T100000Z\nSUMMARY:Dentist"  # 09:30-11:00 in Berlin
STANDUP = "DTSTART:20261123T090000Z\nDTEND:20261123T093000Z\nRRULE:FREQ=DAILY\nSUMMARY:Standup"  # 10:00-10:30 every day


@pytest.fixture
def booked(demo_ws: Path, radicale: Radicale, smtp: Smtp) -> Iterator[tuple[object, str]]:
    """The demo workspace on a fresh CalDAV calendar with a dentist and a daily standup, sending through ``smtp``."""
    from aios_kernel import Workbench

    fast_ws = make_fast(demo_ws)
    url = radicale.calendar()
    assert radicale.put(url, "dentist", vevent("dentist", DENTIST)) == 201
    assert radicale.put(url, "standup", vevent("standup", STANDUP)) == 201
    on_server(fast_ws, url)
    email_settings(fast_ws, smtp)
    with Workbench.open(fast_ws) as wb:
        yield wb, url


def holds(wb) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The open hold decisions, by the address the reply goes to."""
    return {a.payload["attendees"][0]: a for a in wb.approvals.pending() if a.action == "create_event"}


def ours(radicale: Radicale, url: str) -> list[object]:
    return [e for e in radicale.events(url) if str(e["UID"]).startswith("aios-")]


def test_the_reply_offers_free_future_times_and_the_chosen_one_is_held_once_and_named_in_the_reply(
        booked, radicale: Radicale, smtp: Smtp) -> None:  # type: ignore[no-untyped-def]
    wb, url = booked
    run = wb.run("inbox_triage", {}, idempotency_key="triage-caldav")
    now = datetime.fromisoformat(run.outputs()["drafts"]["now"])
    pending = holds(wb)
    assert {PIETER, TOMAS} <= set(pending)
    taken = busy_on_server(radicale, url, now, now + timedelta(days=70))
    for a in pending.values():
        starts = [datetime.fromisoformat(o["payload"]["start"]) for o in a.options if o.get("payload")]
        assert starts and len(starts) == len(a.options) - 1  # one option a time, and one to hold none
        for s in starts:
            local = s.astimezone(BERLIN)
            assert s > now and local.weekday() < 5 and local.hour >= 9 and (local + timedelta(hours=1)).hour <= 17
            assert not [b for b in taken if b[0] < s + timedelta(hours=1) and s < b[1]], f"{s} is busy on the server"
    # Pieter's note offers 3 Dec 10:00 or 4 Dec 14:00: the dentist takes the first
    assert [o["label"] for o in pending[PIETER].options] == [
        "Hold Friday 4 December, 14:00–15:00 and send the reply",
        "Offer the times without holding one (the reply comes to you for review)"]
    assert "I have reserved Friday 4 December, 14:00–15:00" in pending[PIETER].evidence[0]["snippet"]

    tomas = pending[TOMAS]
    second = tomas.options[1]
    tomas.choose(second["id"])
    wb.resume()
    wb.resume()  # nothing is done twice
    [event] = ours(radicale, url)
    start = datetime.fromisoformat(second["payload"]["start"])
    assert event["DTSTART"].dt == start and str(event["STATUS"]) == "TENTATIVE"
    assert str(event["ATTENDEE"]) == f"mailto:{TOMAS}"
    [sent] = [m for m in smtp.messages if m["To"] == TOMAS]
    body = sent.get_payload(decode=True).decode() if not sent.is_multipart() else sent.get_body().get_content()
    held = f"{start:%A} {start.day} {start:%B}, {start:%H:%M}–{start + timedelta(hours=1):%H:%M}"
    assert f"I have reserved {held}" in body
    assert set(smtp.per_message_id().values()) == {1}
    effects = {e["key"].rsplit("/", 1)[-1]: e for e in wb.get_run(run.id).effects if TOMAS in str(e.get("payload"))}
    assert sorted(effects) == ["hold", "send"] and {e["status"] for e in effects.values()} == {"applied"}
    # the held time is busy now: the next proposal does not offer it again
    assert any(b.start == start for b in wb.calendar.busy(start, start + timedelta(hours=1)))


def test_a_reply_the_server_refuses_after_its_time_was_held_releases_the_time(
        booked, radicale: Radicale, smtp: Smtp) -> None:  # type: ignore[no-untyped-def]
    wb, url = booked
    run = wb.run("inbox_triage", {}, idempotency_key="triage-refused")
    smtp.provoke("reject")  # 550 for every recipient: the reply can never go out
    holds(wb)[TOMAS].approve()
    wb.resume()
    assert ours(radicale, url) == []  # created, then deleted by the compensation
    effects = {e["key"].rsplit("/", 1)[-1]: e for e in wb.get_run(run.id).effects if TOMAS in str(e.get("payload"))
               or e["action"] == "cancel_event"}
    assert effects["hold"]["status"] == "applied" and effects["hold:undo"]["action"] == "cancel_event"
    assert effects["hold:undo"]["status"] == "applied" and effects["send"]["status"] == "failed"
    [task] = [t for t in wb.get_run(run.id).tasks if t.status == "compensated"]
    assert "550" in (task.error or "")
    assert not [m for m in smtp.messages if m["To"] == TOMAS]


def test_leaving_a_reply_whose_outcome_is_unknown_releases_the_held_time(
        booked, radicale: Radicale, smtp: Smtp) -> None:  # type: ignore[no-untyped-def]
    wb, url = booked
    run = wb.run("inbox_triage", {}, idempotency_key="triage-unknown")
    smtp.provoke("drop", times=1)  # the server takes the message and drops the line before it answers
    holds(wb)[PIETER].approve()
    wb.resume()
    assert len(ours(radicale, url)) == 1
    [question] = [a for a in wb.approvals.pending() if a.kind == "effect"]
    assert question.action == "send_email"
    question.choose("skip")  # the operator: leave it, and so the time is not held either
    wb.resume()
    assert ours(radicale, url) == []
    assert len([m for m in smtp.messages if m["To"] == PIETER]) == 1  # what the server took is never sent again
    [task] = [t for t in wb.get_run(run.id).tasks if t.id == question.task_id]
    assert task.status == "cancelled" and [s["name"] for s in task.steps if s["phase"] == "undo"] == ["hold"]


def test_offering_the_times_without_a_hold_leaves_the_calendar_alone_and_asks_for_a_review_of_the_reply(
        booked, radicale: Radicale, smtp: Smtp) -> None:  # type: ignore[no-untyped-def]
    wb, url = booked
    wb.run("inbox_triage", {}, idempotency_key="triage-no-hold")
    holds(wb)[PIETER].choose("no_hold")
    wb.resume()
    assert ours(radicale, url) == []
    [review] = [a for a in wb.approvals.pending() if a.action == "send_email" and a.payload["to"] == [PIETER]]
    assert "Any of these would work on my side" in review.payload["body"] and "reserved" not in review.payload["body"]
    review.approve()
    wb.resume()
    assert len([m for m in smtp.messages if m["To"] == PIETER]) == 1


def test_a_time_taken_after_it_was_proposed_is_not_double_booked(
        booked, radicale: Radicale, smtp: Smtp) -> None:  # type: ignore[no-untyped-def]
    wb, url = booked
    run = wb.run("inbox_triage", {}, idempotency_key="triage-taken")
    hold = holds(wb)[PIETER]
    start = datetime.fromisoformat(hold.payload["start"]).astimezone(ZoneInfo("UTC"))
    clash = f"DTSTART:{start:%Y%m%dT%H%M%SZ}\nDTEND:{start + timedelta(minutes=30):%Y%m%dT%H%M%SZ}\nSUMMARY:Board call"
    assert radicale.put(url, "board", vevent("board", clash)) == 201  # booked elsewhere while the decision waited
    hold.approve()
    wb.resume()
    assert ours(radicale, url) == []
    assert not [m for m in smtp.messages if m["To"] == PIETER]  # no reply promises a time that is not held
    [task] = [t for t in wb.get_run(run.id).tasks if t.error and "no longer free" in t.error]
    assert "Board call" in task.error and task.status == "failed"
