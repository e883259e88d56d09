"""iCalendar text: reading it safely, expanding recurrences within a window, writing our own events.

Outside calendars are untrusted input. Reading one never hangs and never
guesses: a recurrence that never ends is expanded only inside the window asked
for (and at most :data:`MAX_OCCURRENCES` times), and an event whose time zone
is neither an IANA zone nor defined in the file (``VTIMEZONE``) is an error
naming the event and the zone, because a busy time in an unknown zone could
hide a clash.

Our own events carry their origin: the UID derives from the idempotency key of
the effect that created them (:func:`uid_for`), and ``X-AIOS-EFFECTS`` lists a
tag of every effect that changed them, so "was this key applied?" is a question
the calendar itself answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ..._errors import ConnectorError
from ._worktime import Busy

PRODID = "-//AIOS Workbench//calendar//EN"
MARK = "X-AIOS-EFFECTS"
MAX_OCCURRENCES = 2_000
"""Busy times one look at the calendar may produce; more means a runaway recurrence (e.g. every second)."""


def uid_for(key: str) -> str:
    """The UID of the event the effect ``key`` creates: the same for every attempt, unique per key."""
    return f"aios-{hashlib.sha256(key.encode()).hexdigest()[:32]}@aios-workbench"


def tag(key: str) -> str:
    """The short tag of ``key`` kept in ``X-AIOS-EFFECTS``."""
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def etag_of(event: Any) -> str:
    """A version tag of one event's content (what an ICS file offers in place of a server's ETag)."""
    return '"' + hashlib.sha256(event.to_ical()).hexdigest()[:20] + '"'


def marks(event: Any) -> list[str]:
    """The tags of the effects that made or changed ``event`` (space-separated: servers may re-escape commas)."""
    value = event.get(MARK)
    values = value if isinstance(value, list) else [value]
    return [t for v in values if v for t in str(v).replace(",", " ").split()]


def parse(data: bytes | str, *, where: str, connector: str) -> Any:
    """An ``icalendar.Calendar`` of ``data``; a clear, permanent ConnectorError when it cannot be read."""
    import icalendar

    raw = data.encode() if isinstance(data, str) else data
    try:
        cal = icalendar.Calendar.from_ical(raw)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        zone = _broken_timezone(raw)
        if zone is not None:
            raise ConnectorError(
                f"{where} defines the time zone {zone!r} (VTIMEZONE) in a way that cannot be read ({exc}); fix or "
                "remove that VTIMEZONE and give its events an IANA zone such as TZID=Europe/Berlin, then try again",
                connector=connector) from None
        raise ConnectorError(f"{where} is not a readable iCalendar file ({type(exc).__name__}: {exc}); fix it or point "
                             f"[connectors.{connector}] at another calendar", connector=connector) from None
    if cal.name != "VCALENDAR":
        raise ConnectorError(f"{where} holds a {cal.name}, not a VCALENDAR", connector=connector)
    return cal


def _broken_timezone(raw: bytes) -> str | None:
    """The TZID of the first ``VTIMEZONE`` in ``raw`` that cannot be turned into a zone, if any."""
    import icalendar

    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    for block in re.findall(r"^BEGIN:VTIMEZONE\n.*?^END:VTIMEZONE$", text, flags=re.M | re.S):
        name = re.search(r"^TZID[^:]*:(.*)$", block, flags=re.M)
        try:
            icalendar.Timezone.from_ical(block).to_tz()
        except Exception:  # noqa: BLE001  (any failure names the zone; the caller reports it)
            return name.group(1).strip() if name else "(no TZID)"
    return None


def busy(calendars: Iterable[Any], start: datetime, end: datetime, *, zone: ZoneInfo, where: str,
         connector: str) -> list[Busy]:
    """Every occurrence of every opaque, not cancelled event of ``calendars`` that overlaps [start, end), in UTC.

    Floating times and all-day events are read in ``zone`` (the owner's).
    """
    import recurring_ical_events

    out: list[Busy] = []
    for cal in calendars:
        for ev in cal.walk("VEVENT"):
            _known_zones(ev, where=where, connector=connector)
        try:
            occurrences = recurring_ical_events.of(cal, components=["VEVENT"]).after(start)
            for n, occ in enumerate(occurrences):
                if n >= MAX_OCCURRENCES:
                    raise ConnectorError(
                        f"{where} has more than {MAX_OCCURRENCES} events between {start:%Y-%m-%d} and {end:%Y-%m-%d} "
                        f"(the last was {_name(occ)}); a recurrence that repeats that often is a mistake: fix its RRULE",
                        connector=connector)
                b = _occurrence(occ, zone=zone, where=where, connector=connector)
                if b is None:
                    continue
                if b.start >= end:
                    break
                if b.end > start:
                    out.append(b)
        except ConnectorError:
            raise
        except Exception as exc:  # noqa: BLE001  (a malformed recurrence is outside input: say where, do not crash)
            raise ConnectorError(f"{where}: an event cannot be expanded ({type(exc).__name__}: {exc}); fix its "
                                 "DTSTART, RRULE or EXDATE", connector=connector) from None
    return sorted(out, key=lambda b: b.start)


def _occurrence(ev: Any, *, zone: ZoneInfo, where: str, connector: str) -> Busy | None:
    if str(ev.get("STATUS") or "").upper() == "CANCELLED" or str(ev.get("TRANSP") or "").upper() == "TRANSPARENT":
        # still ordered by start for the caller's early stop: a transparent event only reports nothing
        return None
    start_prop = ev.get("DTSTART")
    if start_prop is None:
        return None
    start = _aware(start_prop, ev, zone=zone, where=where, connector=connector)
    end_prop = ev.get("DTEND")
    if end_prop is not None:
        end = _aware(end_prop, ev, zone=zone, where=where, connector=connector)
    elif ev.get("DURATION") is not None:
        end = start + ev.decoded("DURATION")
    else:
        end = start + (timedelta(days=1) if _all_day(start_prop) else timedelta(0))
    if end < start:
        raise ConnectorError(f"{where}: event {_name(ev)} ends before it starts; fix its DTEND", connector=connector)
    return Busy(start, end, str(ev.get("UID") or ""), str(ev.get("SUMMARY") or ""), _all_day(start_prop))


def _all_day(prop: Any) -> bool:
    return isinstance(prop.dt, date) and not isinstance(prop.dt, datetime)


def _known_zones(ev: Any, *, where: str, connector: str) -> None:
    """Refuse an event whose times name a zone that could not be resolved (they were left without one)."""
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = ev.get(name)
        value = getattr(prop, "dt", None)
        tzid = prop.params.get("TZID") if prop is not None else None
        if isinstance(value, datetime) and value.tzinfo is None and tzid:
            raise ConnectorError(
                f"{where}: event {_name(ev)} is at {value:%Y-%m-%d %H:%M} in the time zone {tzid!r}, which is neither an "
                "IANA zone nor defined in the calendar (VTIMEZONE), so when it is busy cannot be known; change its TZID "
                "to an IANA zone such as Europe/Berlin (or add the VTIMEZONE), then try again", connector=connector)


def _aware(prop: Any, ev: Any, *, zone: ZoneInfo, where: str, connector: str) -> datetime:
    value = prop.dt
    if not isinstance(value, datetime):  # a date: the whole day in the owner's zone
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)  # a floating time (zones were checked before): the owner's wall clock
    return value.astimezone(timezone.utc)


def _name(ev: Any) -> str:
    return f"{str(ev.get('SUMMARY') or '(no title)')!r} (UID {ev.get('UID')})"


# -- our own events ----------------------------------------------------------------------------


def new_calendar() -> Any:
    import icalendar

    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    return cal


def build_event(key: str, payload: dict[str, Any], *, organizer: str = "") -> Any:
    """The VEVENT the effect ``key`` creates from a checked ``create_event`` payload (times kept in UTC)."""
    import icalendar

    ev = icalendar.Event()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start, end = times(payload)
    ev.add("UID", uid_for(key))
    ev.add("DTSTAMP", now)
    ev.add("CREATED", now)
    ev.add("DTSTART", start)
    ev.add("DTEND", end)
    ev.add("SUMMARY", payload["title"])
    ev.add("SEQUENCE", 0)
    if payload.get("tentative"):
        ev.add("STATUS", "TENTATIVE")  # still busy time: a held proposal blocks the slot for the next one
    if payload.get("description"):
        ev.add("DESCRIPTION", payload["description"])
    if payload.get("location"):
        ev.add("LOCATION", payload["location"])
    if organizer:
        ev.add("ORGANIZER", f"mailto:{organizer}")
    for who in payload.get("attendees") or []:
        ev.add("ATTENDEE", f"mailto:{who}", parameters={"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION"})
    ev.add(MARK, tag(key))
    return ev


def times(payload: dict[str, Any]) -> tuple[datetime, datetime]:
    """``start`` and ``end`` (or ``start`` + ``duration_min``) of a payload, in UTC; the end must follow the start."""
    from ..._errors import ValidationError

    start = datetime.fromisoformat(str(payload["start"])).astimezone(timezone.utc)
    if payload.get("end"):
        end = datetime.fromisoformat(str(payload["end"])).astimezone(timezone.utc)
    elif payload.get("duration_min"):
        end = start + timedelta(minutes=int(payload["duration_min"]))
    else:
        raise ValidationError("an event needs 'end' or 'duration_min'", field="end")
    if end <= start:
        raise ValidationError(f"the event ends ({end.isoformat()}) before it starts ({start.isoformat()})", field="end")
    if end - start > timedelta(days=14):
        raise ValidationError("an event longer than 14 days is not a meeting; check 'end'", field="end")
    return start, end.replace(microsecond=0)


def moved(event: Any, key: str, start: datetime, end: datetime) -> Any:
    """``event`` (a VEVENT) moved to [start, end) by the effect ``key``: SEQUENCE up, the key's tag added."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sequence, tags = int(event.get("SEQUENCE", 0)), marks(event)
    for name in ("DTSTART", "DTEND", "DURATION", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE", MARK):
        if name in event:
            del event[name]
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("DTSTAMP", now)
    event.add("LAST-MODIFIED", now)
    event.add("SEQUENCE", sequence + 1)
    event.add(MARK, " ".join([*tags, tag(key)]))
    return event


def master(cal: Any, uid: str) -> Any | None:
    """The VEVENT of ``uid`` in ``cal`` that is not one changed occurrence (no RECURRENCE-ID)."""
    for ev in cal.walk("VEVENT"):
        if str(ev.get("UID")) == uid and ev.get("RECURRENCE-ID") is None:
            return ev
    return None


def span(event: Any, zone: ZoneInfo) -> tuple[str, str]:
    """An event's start and end as ISO text in ``zone`` (floating times read in it)."""
    start = event.get("DTSTART").dt
    end_prop = event.get("DTEND")
    end = end_prop.dt if end_prop is not None else start + (event.decoded("DURATION") if event.get("DURATION") else timedelta(0))

    def iso(v: Any) -> str:
        if isinstance(v, datetime):
            return (v.astimezone(zone) if v.tzinfo else v.replace(tzinfo=zone)).isoformat()
        return v.isoformat()

    return iso(start), iso(end)
