"""Dates in text: parsing stored times, and date words in queries.

``parse_datetime`` reads the times people and sources write ("2023-05-08",
"2023-05-08T13:56:00Z", "8 May 2023", "1:56 pm on 8 May, 2023").
``query_window`` finds date words in a query ("yesterday", "last week",
"in May 2023", "2 days ago", "on 8 May 2023") and turns them into a time
window relative to a reference time, so retrieval can filter or boost by
when things happened. Pure standard library, no guessing beyond English.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_NUM_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
              "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple of": 2, "few": 3}
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}

_TIME_OF_DAY = r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)"
_DMY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+(?P<year>\d{4})"
_MDY = _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_datetime(text: str) -> datetime | None:
    """A time from a string, timezone-aware (UTC when none is given); None when it is not a time."""
    s = text.strip()
    if not s:
        return None
    try:
        return _utc(datetime.fromisoformat(s.replace("Z", "+00:00")))
    except ValueError:
        pass
    if re.search(r"\d{1,2}:\d{2}(?::\d{2})?\s+(?:[+-]\d{4}|gmt|utc|[a-z]{3})\b", s.lower()):
        try:  # RFC 2822, as in e-mail headers
            from email.utils import parsedate_to_datetime

            return _utc(parsedate_to_datetime(s))
        except (TypeError, ValueError, IndexError):
            pass
    low = s.lower()
    hour = minute = 0
    m = re.search(_TIME_OF_DAY, low)
    if m:
        hour = int(m["hour"]) % 12 + (12 if m["ampm"].startswith("p") else 0)
        minute = int(m["minute"] or 0)
    for pattern in (_DMY, _MDY):
        d = re.search(pattern, low)
        if d:
            try:
                return datetime(int(d["year"]), MONTHS[d["month"]], int(d["day"]), hour, minute, tzinfo=UTC)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class TimeWindow:
    """A half-open window ``[start, end)`` named by ``phrase`` in a query."""

    start: datetime
    end: datetime
    phrase: str

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end


def _month_window(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _day(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def query_window(query: str, now: datetime | None = None) -> TimeWindow | None:
    """The time window the date words of ``query`` name, relative to ``now`` (default: the current time)."""
    now = _utc(now or datetime.now(UTC))
    q = query.lower()
    today = _day(now)
    rules: list[tuple[str, object]] = [
        (r"\b(?:on\s+)?" + _DMY, "dmy"),
        (r"\b(?:on\s+)?" + _MDY, "mdy"),
        (r"\b(?:in\s+|during\s+)?" + _MONTH + r",?\s+(?P<year>\d{4})\b", "month_year"),
        (r"\b(?P<n>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|couple of|few)\s+"
         r"(?P<unit>day|week|month|year)s?\s+ago\b", "ago"),
        (r"\byesterday\b", "yesterday"),
        (r"\btoday\b", "today"),
        (r"\b(?P<which>last|this|past|previous)\s+(?P<unit>week|month|year|weekend)\b", "relative"),
        (r"\blast\s+(?P<weekday>" + "|".join(_WEEKDAYS) + r")\b", "weekday"),
        (r"\b(?:in|during)\s+(?P<year>(?:19|20)\d{2})\b", "year"),
        (r"\b(?:in|during)\s+" + _MONTH + r"\b", "month"),
    ]
    for pattern, kind in rules:
        m = re.search(pattern, q)
        if not m:
            continue
        phrase = query[m.start():m.end()]
        if kind in ("dmy", "mdy"):
            try:
                start = datetime(int(m["year"]), MONTHS[m["month"]], int(m["day"]), tzinfo=UTC)
            except ValueError:
                continue
            return TimeWindow(start, start + timedelta(days=1), phrase)
        if kind == "month_year":
            return TimeWindow(*_month_window(int(m["year"]), MONTHS[m["month"]]), phrase)
        if kind == "year":
            y = int(m["year"])
            return TimeWindow(datetime(y, 1, 1, tzinfo=UTC), datetime(y + 1, 1, 1, tzinfo=UTC), phrase)
        if kind == "month":
            month = MONTHS[m["month"]]
            year = now.year if month <= now.month else now.year - 1
            return TimeWindow(*_month_window(year, month), phrase)
        if kind == "ago":
            n = int(m["n"]) if m["n"].isdigit() else _NUM_WORDS[m["n"]]
            unit = m["unit"]
            if unit == "day":
                start = today - timedelta(days=n)
                return TimeWindow(start, start + timedelta(days=1), phrase)
            if unit == "week":
                start = today - timedelta(days=7 * n + 3)
                return TimeWindow(start, start + timedelta(days=7), phrase)
            if unit == "month":
                y, mo = now.year, now.month - n
                while mo <= 0:
                    mo, y = mo + 12, y - 1
                return TimeWindow(*_month_window(y, mo), phrase)
            return TimeWindow(datetime(now.year - n, 1, 1, tzinfo=UTC), datetime(now.year - n + 1, 1, 1, tzinfo=UTC), phrase)
        if kind == "yesterday":
            return TimeWindow(today - timedelta(days=1), today, phrase)
        if kind == "today":
            return TimeWindow(today, today + timedelta(days=1), phrase)
        if kind == "weekday":
            back = (today.weekday() - _WEEKDAYS[m["weekday"]]) % 7 or 7
            start = today - timedelta(days=back)
            return TimeWindow(start, start + timedelta(days=1), phrase)
        if kind == "relative":
            which, unit = m["which"], m["unit"]
            this = which == "this"
            if unit in ("week", "weekend"):
                monday = today - timedelta(days=today.weekday())
                start = monday if this else monday - timedelta(days=7)
                if unit == "weekend":
                    start += timedelta(days=5)
                    return TimeWindow(start, start + timedelta(days=2), phrase)
                return TimeWindow(start, start + timedelta(days=7), phrase)
            if unit == "month":
                y, mo = (now.year, now.month) if this else ((now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12))
                return TimeWindow(*_month_window(y, mo), phrase)
            y = now.year if this else now.year - 1
            return TimeWindow(datetime(y, 1, 1, tzinfo=UTC), datetime(y + 1, 1, 1, tzinfo=UTC), phrase)
    return None
