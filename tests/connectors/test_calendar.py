"""The calendar connector against a real Radicale CalDAV server on 127.0.0.1 and against ICS files in the workspace.

Planning (free slots in the owner's zone and working hours, recurring events
expanded, only future times), exactly-once changes whose proof is in the
calendar itself, undo by compensation, a move refused with 412 when the event
changed since it was decided, and outside calendars that are broken in the
ways real exports are.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aios_kernel import ConnectorError, Step, ValidationError
from tests.connectors.radicale import Radicale
from tests.orchestrator.conftest import make_fast
from tests.orchestrator.helpers import agent, define

BERLIN = ZoneInfo("Europe/Berlin")
FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 12, 2, 15, 10, tzinfo=BERLIN)  # a Wednesday afternoon
CTX = {"run_id": "run_calendar", "task_id": "task_calendar", "step": "book"}
ANNA = {"title": "Call with Anna", "start": "2026-12-03T12:00:00+01:00", "end": "2026-12-03T13:00:00+01:00",
        "attendees": ["anna@example.org"]}


def vevent(uid: str, lines: str) -> str:
    body = "\r\n".join(ln.strip() for ln in lines.strip().splitlines())
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other App//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
            f"DTSTAMP:20261101T080000Z\r\n{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def wrapped(event: object) -> str:
    import icalendar

    cal = icalendar.Calendar()
    cal.add("PRODID", "-//Other App//EN")
    cal.add("VERSION", "2.0")
    cal.add_component(event)
    return cal.to_ical().decode()


OTHERS = {  # what other calendar applications put in the owner's calendar (times in UTC: Berlin is UTC+1 in December)
    "standup": "DTSTART:20261130T080000Z\nDTEND:20261130T083000Z\nRRULE:FREQ=DAILY\nSUMMARY:Standup",  # never ends
    "workshop": "DTSTART:20261203T090000Z\nDTEND:20261203T110000Z\nSUMMARY:Workshop",
    "holiday": "DTSTART;VALUE=DATE:20261204\nDTEND;VALUE=DATE:20261205\nSUMMARY:Holiday",
    "focus": "DTSTART:20261203T130000Z\nDTEND:20261203T140000Z\nTRANSP:TRANSPARENT\nSUMMARY:Focus (free)",
    "moved-away": "DTSTART:20261203T140000Z\nDTEND:20261203T150000Z\nSTATUS:CANCELLED\nSUMMARY:Cancelled review",
    "lunch": "DTSTART:20261203T130000\nDTEND:20261203T140000\nSUMMARY:Lunch",  # floating: the owner's wall clock
}


@pytest.fixture
def berlin_ws(tmp_path: Path) -> Path:
    from aios_kernel import Workbench

    ws = tmp_path / "ws"
    Workbench.init(ws).close()
    make_fast(ws)
    cfg = ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace('timezone = "UTC"', 'timezone = "Europe/Berlin"'))
    return ws


def on_server(ws: Path, url: str) -> None:
    cfg = ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace("[connectors.calendar]\n", f'[connectors.calendar]\nurl = "{url}"\n', 1))


def busy_on_server(server: Radicale, url: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The server's busy times, expanded here with recurring_ical_events: a check independent of the connector."""
    import caldav
    import icalendar
    import recurring_ical_events

    out = []
    for obj in caldav.Calendar(client=server.client(), url=url).events():
        cal = icalendar.Calendar.from_ical(obj.data)
        for ev in recurring_ical_events.of(cal).between(start, end):
            if ev.get("TRANSP") == "TRANSPARENT" or ev.get("STATUS") == "CANCELLED":
                continue
            a, b = ev["DTSTART"].dt, ev["DTEND"].dt
            if not isinstance(a, datetime):
                a, b = datetime.combine(a, datetime.min.time(), BERLIN), datetime.combine(b, datetime.min.time(), BERLIN)
            out.append((a if a.tzinfo else a.replace(tzinfo=BERLIN), b if b.tzinfo else b.replace(tzinfo=BERLIN)))
    return out


def test_a_proposal_from_the_caldav_calendar_offers_only_free_future_slots_in_working_hours(
        radicale: Radicale, berlin_ws: Path) -> None:
    from aios_kernel import Workbench

    url = radicale.calendar()
    for uid, lines in OTHERS.items():
        assert radicale.put(url, uid, vevent(uid, lines)) == 201
    on_server(berlin_ws, url)
    with Workbench.open(berlin_ws) as wb:
        wb.orchestrator.outbox.execute(key="book/anna", connector="calendar", action="create_event", payload=ANNA, **CTX)
        slots = wb.calendar.free_slots(count=4, duration=60, per_day=None, now=NOW)
        spread = wb.calendar.free_slots(count=3, duration=60, now=NOW)

    assert [(s.start.isoformat(), s.end.isoformat()) for s in slots] == [
        ("2026-12-02T15:30:00+01:00", "2026-12-02T16:30:00+01:00"),  # Wednesday: the next round time after now
        ("2026-12-03T14:00:00+01:00", "2026-12-03T15:00:00+01:00"),  # Thursday: after workshop, call and lunch; focus is free
        ("2026-12-03T15:00:00+01:00", "2026-12-03T16:00:00+01:00"),  # the cancelled review does not block
        ("2026-12-03T16:00:00+01:00", "2026-12-03T17:00:00+01:00")]
    # one a day: Friday is a holiday, the weekend is not worked, Monday starts after the never-ending standup
    assert [s.start.isoformat() for s in spread] == ["2026-12-02T15:30:00+01:00", "2026-12-03T14:00:00+01:00",
                                                     "2026-12-07T09:30:00+01:00"]
    taken = busy_on_server(radicale, url, NOW - timedelta(days=1), NOW + timedelta(days=8))
    assert len(taken) >= 12  # the standup every day, the workshop, holiday, lunch and the call made above
    for s in [*slots, *spread]:
        assert s.start > NOW and s.start.tzinfo == BERLIN
        assert s.start.weekday() < 5 and s.start.hour >= 9 and (s.end.hour, s.end.minute) <= (17, 0)
        assert s.start.date() == s.end.date() and s.end - s.start == timedelta(hours=1)
        assert not [b for b in taken if b[0] < s.end and s.start < b[1]], f"{s} overlaps a busy time"


def test_creating_an_event_once_and_rejecting_after_creation_deletes_it_on_the_server(
        radicale: Radicale, berlin_ws: Path) -> None:
    from aios_kernel import Workbench

    url = radicale.calendar()
    on_server(berlin_ws, url)
    cfg = berlin_ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace("[policies.actions]\n", '[policies.actions]\ncreate_event = "auto"\n', 1))
    meeting = {**ANNA, "to": ["anna@example.org"], "subject": "Our call on Thursday",
               "body": "Hi Anna,\n\nI have put our call in the calendar for Thursday at 12:00.\n\nMaja"}
    agent("book.slot", lambda ctx: {"meeting": meeting}, outputs={"meeting": dict})
    define("book_call", [
        Step("slot", "book.slot"),
        Step("book", "executor", inputs={"item": "$slot.meeting", "kind": "event"}, action="create_event",
             connector="calendar", compensate="cancel_event"),
        Step("confirm", "executor", inputs={"item": "$slot.meeting", "kind": "email"}, action="send_email",
             connector="email", approval="review"),
    ])
    with Workbench.open(berlin_ws) as wb:
        run = wb.run("book_call", idempotency_key="call-anna")
        assert run.status == "waiting_approval"
        events = radicale.events(url)
        assert [str(e["SUMMARY"]) for e in events] == ["Call with Anna"]
        assert events[0]["DTSTART"].dt == datetime(2026, 12, 3, 11, 0, tzinfo=timezone.utc)
        assert str(events[0]["ATTENDEE"]) == "mailto:anna@example.org"
        again = wb.run("book_call", idempotency_key="call-anna")  # the same request once more: the same run
        wb.resume()
        assert again.id == run.id and len(radicale.events(url)) == 1

        [approval] = wb.approvals.pending()
        assert approval.action == "send_email"
        approval.reject("Anna asked for another day")
        wb.run_pending(run_id=run.id)
        assert wb.get_run(run.id).status == "cancelled"
        assert radicale.events(url) == []  # the compensation deleted what was created
        effects = {e["key"].rsplit("/", 1)[-1]: e for e in wb.get_run(run.id).effects}
        assert effects["book"]["status"] == effects["book:undo"]["status"] == "applied"
        assert effects["book:undo"]["action"] == "cancel_event"
        wb.resume()
        assert radicale.events(url) == []


def test_a_move_decided_on_a_version_that_changed_is_refused_with_412_and_nothing_is_applied_twice(
        radicale: Radicale, berlin_ws: Path) -> None:
    from aios_kernel import Workbench

    url = radicale.calendar()
    on_server(berlin_ws, url)
    with Workbench.open(berlin_ws) as wb:
        outbox = wb.orchestrator.outbox
        uid = outbox.execute(key="book/anna", connector="calendar", action="create_event", payload=ANNA, **CTX)["uid"]
        seen = wb.calendar.event(uid)
        assert seen is not None and seen["title"] == "Call with Anna" and seen["sequence"] == 0
        # meanwhile Anna's assistant renames the event in another application
        [event] = radicale.events(url)
        event["SUMMARY"] = "Call with Anna (bring the samples)"
        assert radicale.put(url, uid, wrapped(event)) in (201, 204)

        move = {"uid": uid, "start": "2026-12-03T15:00:00+01:00", "end": "2026-12-03T16:00:00+01:00", "etag": seen["etag"]}
        with pytest.raises(ConnectorError) as err:
            outbox.execute(key="move/anna", connector="calendar", action="move_event", payload=move, **CTX)
        assert not err.value.transient  # retrying cannot help: a person decides again
        assert "412" in str(err.value) and "decide the move again" in str(err.value) and uid in str(err.value)
        [kept] = radicale.events(url)
        assert str(kept["SUMMARY"]) == "Call with Anna (bring the samples)"
        assert kept["DTSTART"].dt == datetime(2026, 12, 3, 11, 0, tzinfo=timezone.utc)  # not moved
        assert outbox.get("move/anna")["status"] == "failed"

        fresh = wb.calendar.event(uid)
        redo = {**move, "etag": fresh["etag"]}
        first = outbox.execute(key="move/anna#2", connector="calendar", action="move_event", payload=redo, **CTX)
        # a crash before the outcome was recorded: the calendar says it was applied; nothing is moved twice
        assert wb.connectors.get("calendar").was_applied("move/anna#2") is not None
        second = wb.connectors.call("calendar", "move/anna#2", "move_event", redo)
        assert second["already_applied"] and second["uid"] == first["uid"]
        [moved] = radicale.events(url)
        assert moved["DTSTART"].dt == datetime(2026, 12, 3, 14, 0, tzinfo=timezone.utc)
        assert int(moved["SEQUENCE"]) == 1 and str(moved["SUMMARY"]) == "Call with Anna (bring the samples)"

        back = outbox.execute(key="move/anna#2:undo", connector="calendar", action="restore_event",
                              payload={"undo_of": "move/anna#2"}, **CTX)
        assert back["start"] == "2026-12-03T12:00:00+01:00"
        assert int(radicale.events(url)[0]["SEQUENCE"]) == 2


def test_a_calendar_file_with_a_zone_nobody_knows_is_a_clear_error_naming_the_event_and_the_zone(berlin_ws: Path) -> None:
    from aios_kernel import Workbench

    (berlin_ws / "calendar.ics").write_bytes((FIXTURES / "broken_zone.ics").read_bytes())
    with Workbench.open(berlin_ws) as wb:
        with pytest.raises(ConnectorError) as err:
            wb.calendar.free_slots(now=NOW)
        said = str(err.value)
        assert not err.value.transient
        assert "'Mars/Olympus_Mons'" in said and "Supplier call" in said and "mars-1@example.org" in said
        assert "IANA zone such as Europe/Berlin" in said
        before = (berlin_ws / "calendar.ics").read_bytes()
        # an event is still created in the file (its own zone is known); the broken one is left as it was
        wb.orchestrator.outbox.execute(key="book/anna", connector="calendar", action="create_event", payload=ANNA, **CTX)
        assert b"Mars/Olympus_Mons" in (berlin_ws / "calendar.ics").read_bytes() != before

    (berlin_ws / "calendar.ics").write_bytes((FIXTURES / "broken_vtimezone.ics").read_bytes())
    with Workbench.open(berlin_ws) as wb:
        with pytest.raises(ConnectorError) as err:
            wb.calendar.busy(date(2026, 12, 1), date(2026, 12, 8))
        assert "'Customer Standard Time'" in str(err.value) and "VTIMEZONE" in str(err.value)
        with pytest.raises(ConnectorError) as err:
            wb.orchestrator.outbox.execute(key="book/bob", connector="calendar", action="create_event",
                                           payload={**ANNA, "title": "Call with Bob"}, **CTX)
        assert not err.value.transient and "Customer Standard Time" in str(err.value)
        assert wb.orchestrator.outbox.get("book/bob")["status"] == "failed"  # on the task as a clear failure
    assert (berlin_ws / "calendar.ics").read_bytes() == (FIXTURES / "broken_vtimezone.ics").read_bytes()


def test_a_recurrence_that_never_ends_is_expanded_within_the_window_and_a_runaway_one_is_refused(berlin_ws: Path) -> None:
    from aios_kernel import Workbench

    standup = vevent("standup", OTHERS["standup"])
    (berlin_ws / "calendar.ics").write_text(standup)
    with Workbench.open(berlin_ws) as wb:
        week = wb.calendar.busy(date(2026, 12, 7), date(2026, 12, 14))
        year = wb.calendar.busy(date(2027, 1, 1), date(2028, 1, 1))
        assert [b.start.astimezone(BERLIN).strftime("%a %H:%M") for b in week] == [
            "Mon 09:00", "Tue 09:00", "Wed 09:00", "Thu 09:00", "Fri 09:00", "Sat 09:00", "Sun 09:00"]
        assert len(year) == 365 and {b.uid for b in year} == {"standup"}

    (berlin_ws / "calendar.ics").write_bytes((FIXTURES / "runaway_recurrence.ics").read_bytes())
    with Workbench.open(berlin_ws) as wb:
        started = time.monotonic()
        with pytest.raises(ConnectorError) as err:
            wb.calendar.free_slots(now=NOW)
        assert time.monotonic() - started < 10
        assert "Heartbeat" in str(err.value) and "RRULE" in str(err.value) and not err.value.transient


def test_free_slots_keep_the_owners_wall_clock_across_a_clock_change_and_check_their_arguments(berlin_ws: Path) -> None:
    from aios_kernel import Workbench

    cfg = berlin_ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace('working_hours = "09:00-17:00"', 'working_hours = "08:30-12:00"')
                   .replace('working_days = "Mon-Fri"', 'working_days = "Fri,Mon"'))
    with Workbench.open(berlin_ws) as wb:
        # Berlin leaves summer time on Sunday 25 October 2026: 08:30 is 06:30 UTC on Friday, 07:30 UTC on Monday
        friday = datetime(2026, 10, 22, 18, 0, tzinfo=BERLIN)
        slots = wb.calendar.free_slots(count=2, duration=90, now=friday)
        assert [s.start.isoformat() for s in slots] == ["2026-10-23T08:30:00+02:00", "2026-10-26T08:30:00+01:00"]
        assert [s.start.astimezone(timezone.utc).hour for s in slots] == [6, 7]
        later = wb.calendar.free_slots(after=date(2026, 10, 26), count=1, duration=timedelta(hours=3), now=friday)
        assert [(s.start.hour, s.start.minute, s.end.hour) for s in later] == [(8, 30, 11)]
        assert wb.calendar.free_slots(count=1, duration=240, now=friday) == []  # longer than a working day
        for kwargs, field_name in (({"count": 0}, "count"), ({"duration": 2}, "duration"), ({"step_min": 1}, "step_min"),
                                   ({"within_days": 400}, "within_days"), ({"per_day": 0}, "per_day"),
                                   ({"after": "next week"}, "after")):
            with pytest.raises(ValidationError) as err:
                wb.calendar.free_slots(now=friday, **kwargs)
            assert err.value.field == field_name


def test_caldav_logs_in_with_the_password_from_the_credential_store_and_finds_the_calendar_by_name(
        tmp_path: Path, berlin_ws: Path) -> None:
    from aios_kernel import Workbench

    password = "Pw-for-Radicale-41c9"
    server = Radicale(tmp_path / "radicale-auth", users={"maja": password})
    try:
        url = server.calendar(name="work")
        client = server.client()
        client.proppatch(url, '<?xml version="1.0"?><propertyupdate xmlns="DAV:"><set><prop>'
                              "<displayname>Work</displayname></prop></set></propertyupdate>")
        cfg = berlin_ws / "aios.toml"
        base = f"http://127.0.0.1:{server.port}/"
        cfg.write_text(cfg.read_text().replace("[connectors.calendar]\n", f'[connectors.calendar]\nurl = "{base}"\n'
                                               'calendar = "Work"\nusername = "maja"\npassword = "secret:caldav"\n', 1))
        with Workbench.open(berlin_ws) as wb:
            wb.secrets.set("caldav", password)
            receipt = wb.orchestrator.outbox.execute(key="book/anna", connector="calendar", action="create_event",
                                                     payload=ANNA, **CTX)
            assert receipt["href"].startswith(url)
            assert [str(e["SUMMARY"]) for e in server.events(url)] == ["Call with Anna"]
            assert password not in repr(wb.connectors.get("calendar")) + str(wb.status())
        with Workbench.open(berlin_ws) as wb:
            wb.secrets.set("caldav", "not-the-password")
            with pytest.raises(ConnectorError) as err:
                wb.calendar.free_slots(now=NOW)
            assert "refused the login of 'maja'" in str(err.value) and "secret named by password" in str(err.value)
            assert not err.value.transient and "not-the-password" not in str(err.value)
    finally:
        server.stop()
    assert password.encode() not in (berlin_ws / "store.db").read_bytes()

