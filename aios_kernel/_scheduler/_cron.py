"""Cron expressions in an IANA time zone: validation and the ticks between two instants.

Five fields (minute hour day month weekday), or six with seconds first. The
expression is evaluated in wall-clock time of its zone by :mod:`cronsim`, which
treats daylight-saving changes as Debian's cron does: a time that does not
exist (02:30 on the spring-forward day in Europe/Berlin) fires once, at the
first valid instant after it (03:00); a time that exists twice (02:30 on the
fall-back day) fires once, at its first occurrence. So a daily run is never
skipped and never doubled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .._errors import ValidationError


def zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone ``name`` or a :class:`ValidationError` naming ``field`` and the closest zones."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{field} is empty: give an IANA time zone such as 'Europe/Berlin' or 'UTC'", field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        import difflib

        close = difflib.get_close_matches(name, sorted(available_timezones()), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise ValidationError(f"{field} {name!r} is not an IANA time zone{hint}; use a name such as 'Europe/Berlin', "
                              "'America/New_York' or 'UTC'", field=field) from None


@dataclass(frozen=True)
class Cron:
    """A validated cron expression bound to a time zone."""

    expr: str
    tz: str

    @classmethod
    def parse(cls, expr: str, tz: str = "UTC", *, field: str = "cron", tz_field: str = "timezone") -> Cron:
        """Check ``expr`` and ``tz``; errors name the field and say what a valid value looks like."""
        from cronsim import CronSim, CronSimError

        zone(tz, field=tz_field)
        text = " ".join(str(expr or "").split())
        if not text:
            raise ValidationError(f"{field} is empty: give a cron expression such as '0 7 * * *' (07:00 daily)", field=field)
        if len(text.split()) not in (5, 6):
            raise ValidationError(f"{field} {expr!r} has {len(text.split())} fields; a cron expression has 5 (minute hour "
                                  "day month weekday, e.g. '0 7 * * MON-FRI') or 6 (seconds first)", field=field)
        try:
            CronSim(text, datetime(2025, 1, 1, tzinfo=UTC))
        except CronSimError as exc:
            raise ValidationError(f"{field} {expr!r} is not a valid cron expression ({exc}); fields are minute hour day "
                                  "month weekday, e.g. '0 7 * * *' or '0 9 1 * *'", field=field) from None
        return cls(text, tz)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def iter_after(self, after: datetime) -> Iterator[datetime]:
        """Tick instants strictly after ``after`` (aware), as aware datetimes in the schedule's zone."""
        from cronsim import CronSim

        start = after.astimezone(self.zone)
        for t in CronSim(self.expr, start):
            if t > after:  # CronSim starts at the next whole second or minute; never yield ``after`` itself
                yield t

    def ticks(self, after: datetime, until: datetime, *, limit: int = 100_000) -> tuple[list[datetime], int]:
        """Ticks in ``(after, until]``: the first ``limit`` of them (newest kept) and how many there were in all."""
        out: list[datetime] = []
        n = 0
        for t in self.iter_after(after):
            if t > until:
                break
            n += 1
            out.append(t)
            if len(out) > limit:
                del out[0]
        return out, n

    def next_after(self, after: datetime) -> datetime:
        """The first tick after ``after``."""
        return next(self.iter_after(after))

    def count(self, after: datetime, until: datetime) -> int:
        return self.ticks(after, until, limit=0)[1] if until > after else 0


def to_utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValidationError(f"{t.isoformat()} has no UTC offset; give an aware time (e.g. 2025-03-30T07:00:00+02:00)",
                              field="now")
    return t.astimezone(UTC)


def parse_instant(text: str, *, field: str = "now") -> datetime:
    """An ISO-8601 instant with an offset (``Z`` allowed)."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{field} {text!r} is not an ISO-8601 time; write e.g. 2025-03-30T07:00:00+02:00",
                              field=field) from None
    if t.tzinfo is None:
        raise ValidationError(f"{field} {text!r} has no UTC offset; add one, e.g. {text}+00:00 or {text}Z", field=field)
    return t


def seconds(td: timedelta) -> float:
    return td.total_seconds()
