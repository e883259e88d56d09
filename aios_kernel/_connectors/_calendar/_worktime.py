"""When the owner works, and the free slots a calendar leaves in that time.

``[workspace] timezone`` (IANA), ``working_hours`` (``"09:00-17:00"``) and
``working_days`` (``"Mon-Fri"``, ``"Mon,Tue,Thu"`` or a list) say when the
owner works. :func:`free_slots` is a pure function of the busy times, the
working time and a "now": it proposes only slots that start after now (and
after ``after``), lie inside one working day's hours, and overlap nothing busy.
Times are computed in UTC and shown in the owner's zone, so a daylight-saving
change neither shifts nor doubles a slot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..._errors import ConfigError, ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WorkingTime:
    """When the owner works: a zone, daily hours and the working weekdays (0 = Monday)."""

    zone: ZoneInfo
    start: time
    end: time
    days: frozenset[int]

    @classmethod
    def from_config(cls, config: Any) -> WorkingTime:
        """The owner's working time from ``[workspace]``; a bad value is a :class:`ConfigError` naming the key."""
        tz = str(config.get("workspace.timezone") or "UTC")
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"[workspace] timezone {tz!r} is not an IANA zone (e.g. \"Europe/Berlin\")",
                              key="workspace.timezone") from exc
        hours = str(config.get("workspace.working_hours") or "09:00-17:00")
        m = _HOURS.match(hours)
        try:
            if not m:
                raise ValueError(hours)
            start, end = time(int(m.group(1)), int(m.group(2))), time(int(m.group(3)), int(m.group(4)))
            if start >= end:
                raise ValueError(hours)
        except ValueError as exc:
            raise ConfigError(f"[workspace] working_hours {hours!r} must be \"HH:MM-HH:MM\" with the start before the end "
                              "(e.g. \"09:00-17:00\")", key="workspace.working_hours") from exc
        value = config.get("workspace.working_days") or "Mon-Fri"
        try:
            days = parse_days(value)
        except ValueError as exc:
            raise ConfigError(f"[workspace] working_days {value!r} must name weekdays, e.g. \"Mon-Fri\" or \"Mon,Tue,Thu\"",
                              key="workspace.working_days") from exc
        return cls(zone, start, end, days)

    def local(self, value: datetime | date | str) -> datetime:
        """``value`` as an aware time: naive times and dates are read in the owner's zone (a date: its start)."""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise ValidationError(f"{value!r} is not an ISO date or time", field="after") from None
        if not isinstance(value, datetime):
            value = datetime.combine(value, time(0), tzinfo=self.zone)
        return value if value.tzinfo is not None else value.replace(tzinfo=self.zone)

    def windows(self, first: date, last: date) -> Iterator[tuple[datetime, datetime]]:
        """The working hours of each working day from ``first`` to ``last`` (both included), as aware UTC times."""
        day = first
        while day <= last:
            if day.weekday() in self.days:
                yield _at(day, self.start, self.zone), _at(day, self.end, self.zone)
            day += timedelta(days=1)


@dataclass(frozen=True)
class Slot:
    """A free time: ``start`` and ``end`` in the owner's zone."""

    start: datetime
    end: datetime

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        zone = getattr(self.start.tzinfo, "key", None) or self.start.strftime("%Z")
        return f"{self.start:%a %d %b %Y %H:%M}–{self.end:%H:%M} ({zone})"


@dataclass(frozen=True)
class Busy:
    """A busy time read from the calendar (one occurrence of an event), in UTC."""

    start: datetime
    end: datetime
    uid: str = ""
    title: str = ""
    all_day: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "uid": self.uid, "title": self.title,
                "all_day": self.all_day}


def parse_days(value: Any) -> frozenset[int]:
    """``"Mon-Fri"``, ``"Mon,Tue,Thu"``, ``["Mon", "Wed"]`` as weekday numbers; ValueError otherwise."""
    text = ",".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
    out: set[int] = set()
    for chunk in (c.strip().lower() for c in text.split(",") if c.strip()):
        if "-" in chunk:
            a, b = (x.strip()[:3] for x in chunk.split("-", 1))
            if a not in DAYS or b not in DAYS:
                raise ValueError(chunk)
            i, j = DAYS.index(a), DAYS.index(b)
            out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif chunk[:3] in DAYS:
            out.add(DAYS.index(chunk[:3]))
        else:
            raise ValueError(chunk)
    if not out:
        raise ValueError(text)
    return frozenset(out)


def free_slots(busy: Sequence[Busy | tuple[datetime, datetime]], wt: WorkingTime, *, after: datetime, now: datetime,
               count: int, duration: timedelta, step: timedelta, per_day: int | None, until: datetime) -> list[Slot]:
    """Up to ``count`` slots of ``duration`` inside the working hours, starting after ``now`` and ``after`` and before
    ``until``, overlapping nothing in ``busy``; at most ``per_day`` a day (None: no limit), earliest first.

    Candidate starts are the working day's start plus whole ``step``s, so slots begin on round times.
    """
    spans = sorted(((b.start, b.end) if isinstance(b, Busy) else (b[0], b[1]) for b in busy), key=lambda s: s[0])
    spans = [(s.astimezone(timezone.utc), e.astimezone(timezone.utc)) for s, e in spans]
    earliest = max(after, now).astimezone(timezone.utc)
    out: list[Slot] = []
    first, last = earliest.astimezone(wt.zone).date(), until.astimezone(wt.zone).date()
    for open_at, close_at in wt.windows(first, last):
        taken = 0
        start = open_at
        if start < earliest:
            start = open_at + step * -(-(earliest - open_at) // step)  # the first round time not before earliest
        while start + duration <= close_at and start < until:
            end = start + duration
            clash = next(((s, e) for s, e in spans if s < end and start < e), None)
            if start > now and clash is None:
                out.append(Slot(start.astimezone(wt.zone), end.astimezone(wt.zone)))
                taken += 1
                if len(out) >= count or (per_day is not None and taken >= per_day):
                    break
            # on to the next round time past this slot, or past what it clashed with
            after_this = end if clash is None and start > now else (clash[1] if clash is not None else start)
            start = open_at + step * -(-(max(after_this, start + step) - open_at) // step)
        if len(out) >= count:
            return out
    return out


def _at(day: date, t: time, zone: ZoneInfo) -> datetime:
    """Wall-clock ``t`` on ``day`` in ``zone`` as UTC (a time skipped by a clock change moves past the gap)."""
    local = datetime.combine(day, t, tzinfo=zone)
    return local.astimezone(timezone.utc)
