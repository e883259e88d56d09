"""Meeting times a reply may propose: in the future, in the owner's working hours and time zone.

``[workspace] timezone`` (IANA), ``working_hours`` (``"09:00-17:00"``) and
``working_days`` (``"Mon-Fri"``, or a list such as ``"Mon,Tue,Thu"``) say when
the owner works; the run's *now* says what the future is: the ``now``
parameter of a run, else the business's today (the newest record's date, so a
demo workspace opened any day plans the same). A slot is proposed only when it
starts on a working day after today, inside the working hours, and ends by
their end.

Where the times come from, best first: times the owner wrote down for this
message ("offer 3 Dec at 10:00 or 4 Dec at 14:00"), days the owner or the
sender named ("coffee on the 27th?", "Thursday 3 or Friday 4 December", "in the
week of 30 Nov"), then the next working days. Dates are read as day and month
words and numbers only: nothing of the sender's wording reaches the reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from .._workspace import WorkingTime

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
SLOT_MINUTES = 60
"""How long a proposed slot is taken to last (it must end within the working hours)."""
DEFAULT_TIMES = (time(10, 0), time(14, 0))
"""Times offered on a day when nobody named one (kept only when inside the working hours)."""

_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?"
_DAYNUM = r"(\d{1,2})(?:st|nd|rd|th)?"
# "3 Dec", "Thursday 3 December", "3 or 4 December", "7–10 Dec" (each number before a month word)
_DAY_LIST = re.compile(rf"\b{_DAYNUM}(?:\s*(?:,|or|and|&|-|–|to)\s*(?:{_WEEKDAY}\s+)?{_DAYNUM})*\s+{_MONTH}\b", re.I)
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAYNUM}\b", re.I)
_THE_NTH = re.compile(rf"\bthe\s+{_DAYNUM}\b", re.I)
_WEEK_OF = re.compile(rf"\bweek of\s+(?:{_WEEKDAY}\s+)?{_DAYNUM}\s+{_MONTH}\b|\bweek of\s+{_MONTH}\s+{_DAYNUM}\b", re.I)
_ISO = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")
_NUM = re.compile(r"\d{1,2}")


def working_time(config: Any) -> WorkingTime:
    """The owner's working time from ``[workspace]``; a bad value is a :class:`ConfigError` naming the key."""
    return WorkingTime.from_config(config)


def fits(wt: WorkingTime, start: datetime, now: datetime) -> bool:
    """``start`` is on a working day after ``now``'s day, and the slot lies inside the working hours."""
    local = start.astimezone(wt.zone)
    end = local + timedelta(minutes=SLOT_MINUTES)
    return (local.date() > now.astimezone(wt.zone).date() and local.weekday() in wt.days
            and local.time() >= wt.start and end.date() == local.date() and end.time() <= wt.end)


def run_now(given: str, today: date, wt: WorkingTime) -> datetime:
    """The run's "now": ``given`` (``YYYY-MM-DD`` or an ISO date and time), else the end of ``today``'s working hours."""
    if given:
        try:
            parsed = datetime.fromisoformat(given)
        except ValueError as exc:
            from .._errors import ValidationError

            raise ValidationError(f"now {given!r} is not an ISO date or date and time", field="now") from exc
        if len(given) <= 10:
            parsed = datetime.combine(parsed.date(), wt.end)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=wt.zone)
    return datetime.combine(today, wt.end, tzinfo=wt.zone)


def _month(word: str) -> int:
    return MONTHS.index(word[:3].lower()) + 1


def _on_or_after(day: int, month: int, now: date) -> date | None:
    """The date ``day``/``month`` meant as of ``now``: this year's, or next year's when this year's is months gone.

    A day a few weeks back ("Tuesday 17 November" read on the 20th) is in the past, not next year: None.
    """
    try:
        d = date(now.year, month, day)
    except ValueError:
        return None
    if d >= now:
        return d
    if (now - d).days < 90:
        return None
    try:
        return date(now.year + 1, month, day)
    except ValueError:
        return None


_AT = re.compile(r"^\s*(?:,|at|um|à|a las|from)?\s*(?:([01]?\d|2[0-3])[:.]([0-5]\d)\b|([1-9]|1[0-2])\s*(am|pm)\b)", re.I)


def _time_after(text: str, start: int) -> time | None:
    """A time written right after a date ("3 Dec at 10:00", "Friday 4 December, 14:00"), else None."""
    m = _AT.match(text[start:start + 20])
    if not m:
        return None
    if m.group(1):
        return time(int(m.group(1)), int(m.group(2)))
    return time(int(m.group(3)) % 12 + (12 if m.group(4).lower() == "pm" else 0), 0)


@dataclass(frozen=True)
class Hint:
    """A day someone named, with a time when one was written right after it."""

    day: date
    at: time | None = None


def hints(text: str, now: date) -> list[Hint]:
    """Days (with times when given) that ``text`` names, in the order written, each once; past days left out.

    Reads "3 Dec at 10:00", "Thursday 3 or Friday 4 December", "December 3", "2026-12-03",
    "the 27th" (in the month named nearest before it, else the next such day), "the week of 30 Nov".
    """
    found: list[tuple[int, Hint]] = []
    months_at = [(m.start(), _month(m.group(0))) for m in re.finditer(_MONTH, text, re.I)]

    def add(pos: int, d: date | None, at: time | None) -> None:
        if d is not None and d > now:
            found.append((pos, Hint(d, at)))

    taken: list[tuple[int, int]] = []
    for m in _WEEK_OF.finditer(text):
        day, mon = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        d = _on_or_after(int(day), _month(mon), now)
        if d is not None:
            monday = d - timedelta(days=d.weekday())
            for i in range(5):
                add(m.start() + i, monday + timedelta(days=i), None)
        taken.append(m.span())
    for m in _DAY_LIST.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        taken.append(m.span())
        if re.search(r"\d\s*(?:-|–|to)\s*(?:\w+\s+)?\d", m.group(0)):
            continue  # a span ("in Berlin 26–28 Nov", "in Vienna 7–10 Dec") says where someone is, not when to meet
        month_group = m.lastindex or 1
        head = m.group(0)[: m.start(month_group) - m.start()]
        numbers = [(n.start(), int(n.group(0))) for n in _NUM.finditer(head)]
        for off, n in numbers:
            at = _time_after(text, m.end()) if off == numbers[-1][0] else None
            add(m.start() + off, _on_or_after(n, _month(m.group(month_group)), now), at)
    for m in _MONTH_DAY.finditer(text):
        if not any(a <= m.start() < b for a, b in taken):
            add(m.start(), _on_or_after(int(m.group(2)), _month(m.group(1)), now), _time_after(text, m.end()))
    for m in _ISO.finditer(text):
        try:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
        add(m.start(), d, _time_after(text, m.end()))
    for m in _THE_NTH.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        before = [mon for pos, mon in months_at if pos < m.start()]
        n = int(m.group(1))
        if before:
            d = _on_or_after(n, before[-1], now)
        else:  # "the 27th" with no month named: the next 27th
            d = next((x for x in (_on_or_after(n, (now.month - 1 + k) % 12 + 1, now) for k in range(3)) if x), None)
        add(m.start(), d, _time_after(text, m.end()))
    out: list[Hint] = []
    for _, h in sorted(found, key=lambda x: x[0]):
        if h not in out:
            out.append(h)
    return out


HORIZON_DAYS = 60
"""How far ahead :func:`propose` looks for free working days."""


def propose(hinted: list[Hint], now: datetime, wt: WorkingTime, *, n: int = 3,
            busy: list[tuple[datetime, datetime]] | None = None) -> list[datetime]:
    """Up to ``n`` slots: the hinted days and times that fit, then the next working days; all in the future,
    and none overlapping a ``busy`` time (the calendar's, when there is one)."""
    out: list[datetime] = []
    taken = busy or []

    def offer(d: date, at: time) -> None:
        slot = datetime.combine(d, at, tzinfo=wt.zone)
        end = slot + timedelta(minutes=SLOT_MINUTES)
        if len(out) < n and slot not in out and fits(wt, slot, now) and not any(a < end and slot < b for a, b in taken):
            out.append(slot)

    timed = [h for h in hinted if h.at is not None]
    for h in timed:
        offer(h.day, h.at)  # type: ignore[arg-type]
    if timed and out:
        return out  # the owner named exact times: offer those, not more
    for at in DEFAULT_TIMES:  # one time on each named day first, then the second time
        for h in hinted:
            offer(h.day, at)
    if out:
        return out
    d = now.astimezone(wt.zone).date()
    for _ in range(HORIZON_DAYS):  # the next working days, alternating the usual times; the first hour where neither fits
        d += timedelta(days=1)
        if d.weekday() not in wt.days:
            continue
        preferred = DEFAULT_TIMES[len(out) % len(DEFAULT_TIMES)]
        for at in (preferred, *DEFAULT_TIMES, wt.start):
            before = len(out)
            offer(d, at)
            if len(out) > before:
                break
        if len(out) >= n:
            break
    return out


def fmt(slot: datetime) -> str:
    """``Thursday 3 December, 10:00``."""
    return f"{slot:%A} {slot.day} {slot:%B}, {slot:%H:%M}"


__all__ = ["Hint", "WorkingTime", "fits", "fmt", "hints", "propose", "run_now", "working_time"]
