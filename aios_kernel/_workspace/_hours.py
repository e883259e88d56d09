"""When the owner works: ``[workspace] timezone``, ``working_hours`` and ``working_days``, read once.

``timezone`` is an IANA zone, ``working_hours`` ``"HH:MM-HH:MM"`` and
``working_days`` ``"Mon-Fri"``, ``"Mon,Tue,Thu"`` or a list. The calendar
connector finds free slots in this time and the agents propose meeting times
in it; both read it here, so a workspace has one working time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._errors import ConfigError, ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WorkingTime:
    """When the owner works: a zone, daily hours and the working weekdays (0 = Monday)."""

    zone: ZoneInfo
    start: time
    end: time
    days: frozenset[int]

    @property
    def place(self) -> str:
        """The zone as people say it: ``Europe/Berlin`` is "Berlin time"."""
        key = getattr(self.zone, "key", "UTC")
        return "UTC" if key in ("UTC", "Etc/UTC") else f"{key.rsplit('/', 1)[-1].replace('_', ' ')} time"

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


def _at(day: date, t: time, zone: ZoneInfo) -> datetime:
    """Wall-clock ``t`` on ``day`` in ``zone`` as UTC (a time skipped by a clock change moves past the gap)."""
    local = datetime.combine(day, t, tzinfo=zone)
    return local.astimezone(timezone.utc)



__all__ = ["DAYS", "WorkingTime", "parse_days"]
