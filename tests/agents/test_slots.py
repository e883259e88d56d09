"""Meeting times a reply may propose: read from notes and questions, kept in the future and in working hours."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from aios_kernel import ConfigError
from aios_kernel._agents._slots import fmt, hints, propose, run_now, working_time


class Settings(dict):
    """``config.get("a.b")`` over a flat dict, as :class:`aios_kernel._workspace.Config` answers it."""

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        return super().get(key, default)


BERLIN = Settings({"workspace.timezone": "Europe/Berlin"})
TODAY = date(2026, 11, 20)  # a Friday


@pytest.mark.parametrize(("text", "want"), [
    ("offer 3 Dec at 10:00 or 4 Dec at 14:00", ["Thursday 3 December, 10:00", "Friday 4 December, 14:00"]),
    ("moved from 1 Dec; offer 3 Dec at 10:00", ["Thursday 3 December, 10:00"]),
    ("in Berlin 26–28 Nov — coffee on the 27th?", ["Friday 27 November, 10:00", "Friday 27 November, 14:00"]),
    ("Intro call in the week of 30 Nov.", ["Monday 30 November, 10:00", "Tuesday 1 December, 10:00",
                                           "Wednesday 2 December, 10:00"]),
    ("Could we do Thursday 3 or Friday 4 December instead?", ["Thursday 3 December, 10:00", "Friday 4 December, 10:00",
                                                              "Thursday 3 December, 14:00"]),
    ("Could you come on Tuesday 17 November?", ["Monday 23 November, 10:00", "Tuesday 24 November, 14:00",
                                                "Wednesday 25 November, 10:00"]),  # a past day is never offered
    ("Saturday 28 November at 10:00 or Sunday 29 Nov", ["Monday 23 November, 10:00", "Tuesday 24 November, 14:00",
                                                        "Wednesday 25 November, 10:00"]),  # the weekend is not worked
    ("on 5 January at 19:00", ["Tuesday 5 January, 10:00", "Tuesday 5 January, 14:00"]),  # evening: outside the hours
], ids=["owner-times", "moved-from", "the-27th", "week-of", "sender-days", "past-day", "weekend", "next-year-evening"])
def test_proposed_slots(text: str, want: list[str]) -> None:
    wt = working_time(BERLIN)
    now = run_now("", TODAY, wt)
    assert [fmt(s) for s in propose(hints(text, TODAY), now, wt)] == want


def test_slots_follow_the_working_hours_days_and_zone() -> None:
    wt = working_time(Settings({"workspace.timezone": "America/New_York", "workspace.working_hours": "08:30-12:00",
                                "workspace.working_days": "Tue,Thu"}))
    now = run_now("2026-11-20T08:00", TODAY, wt)
    slots = propose([], now, wt)
    assert len(slots) == 3 and wt.place == "New York time"
    for s in slots:
        assert s.weekday() in (1, 3) and time(8, 30) <= s.timetz().replace(tzinfo=None) and s.hour < 11
        assert s.utcoffset() is not None and s > now


@pytest.mark.parametrize(("key", "value"), [("workspace.working_hours", "9-5"), ("workspace.working_hours", "17:00-09:00"),
                                            ("workspace.working_days", "Weekdays"), ("workspace.timezone", "Berlin")])
def test_bad_working_time_settings_name_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        working_time(Settings({"workspace.timezone": "Europe/Berlin", key: value}))
    assert key.split(".")[1] in str(err.value)


def test_now_as_a_date_is_the_end_of_its_working_day() -> None:
    wt = working_time(BERLIN)
    assert run_now("2026-12-03", TODAY, wt) == datetime(2026, 12, 3, 17, 0, tzinfo=wt.zone)
    assert run_now("", TODAY, wt).date() == TODAY
