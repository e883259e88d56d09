"""Which ticks run: catch-up policies, long downtime, and daylight saving, on a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aios_kernel._scheduler import ManualClock, decide, validate_schedule

BERLIN = ZoneInfo("Europe/Berlin")


def sched(cron: str = "0 7 * * *", tz: str = "Europe/Berlin", **kw: object):
    return validate_schedule("s", {"notebook": "x.ipynb", "cron": cron, "timezone": tz, **kw})


def simulate(s, start: datetime, end: datetime, step: timedelta, down: tuple[datetime, datetime] | None = None):
    """Decide every ``step`` from ``start`` to ``end`` (nothing decided while down); returns the ticks run and skipped."""
    clock = ManualClock(start)
    through, ran, skipped = None, [], []
    while clock.now() <= end:
        now = clock.now()
        if not (down and down[0] <= now < down[1]):
            d = decide(s, through, now)
            through = d.through
            ran += [t for t, _ in d.run]
            skipped += [t for t, _ in d.skipped]
        clock.advance(seconds=step.total_seconds())
    return ran, skipped


@pytest.mark.parametrize("day, hhmm", [("2025-03-30", (2, 30)), ("2025-10-26", (2, 30)), ("2025-03-30", (7, 0)),
                                       ("2025-10-26", (7, 0))], ids=["spring-0230", "autumn-0230", "spring-0700", "autumn-0700"])
def test_daylight_saving_neither_skips_nor_doubles_a_daily_run(day: str, hhmm: tuple[int, int]) -> None:
    s = sched(f"{hhmm[1]} {hhmm[0]} * * *")
    d0 = datetime.fromisoformat(day).replace(tzinfo=BERLIN)
    ran, skipped = simulate(s, d0 - timedelta(days=2), d0 + timedelta(days=2, hours=12), timedelta(minutes=5))
    days = [t.astimezone(BERLIN).date() for t in ran]
    assert len(ran) == 5 and len(set(days)) == 5 and not skipped, ran  # one a day, the transition day included
    on_day = next(t for t in ran if t.astimezone(BERLIN).date() == d0.date())
    if hhmm == (2, 30) and day.endswith("03-30"):
        assert on_day.astimezone(BERLIN).strftime("%H:%M%z") == "03:00+0200"  # 02:30 does not exist that day
    else:
        assert on_day.astimezone(BERLIN).strftime("%H:%M") == f"{hhmm[0]:02d}:{hhmm[1]:02d}"


def test_catch_up_policies_after_a_long_downtime() -> None:
    start = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    # three days without a scheduler, back at 10:30, half an hour after a tick (later than the 5-minute grace)
    down = (start + timedelta(hours=10), start + timedelta(days=3, hours=10, minutes=30))
    end = start + timedelta(days=4)
    hourly = {p: sched("0 * * * *", "UTC", catch_up=p, catch_up_window_s=6 * 3600.0, catch_up_max=4) for p in ("latest", "none", "all")}
    results = {p: simulate(s, start, end, timedelta(minutes=5), down) for p, s in hourly.items()}
    total, missed = 97, 73  # ticks 00:00 day 1 .. 00:00 day 5; missed: 10:00 day 1 .. 10:00 day 4
    latest_ran, latest_skipped = results["latest"]
    assert len(latest_ran) == total - missed + 1 and len(latest_skipped) == missed - 1
    assert datetime(2025, 6, 5, 10, tzinfo=UTC) in latest_ran  # the newest missed tick, once
    none_ran, none_skipped = results["none"]
    assert len(none_ran) == total - missed and len(none_skipped) == missed
    all_ran, all_skipped = results["all"]
    assert len(all_ran) == total - missed + 4 and len(all_skipped) == missed - 4  # the newest 4 within 6 hours
    caught = sorted(set(all_ran) - set(none_ran))
    assert caught == [datetime(2025, 6, 5, h, tzinfo=UTC) for h in (7, 8, 9, 10)]
    for ran, _ in results.values():
        assert len(ran) == len(set(ran))  # never twice


def test_latest_adds_nothing_when_a_tick_is_on_time_at_restart() -> None:
    s = sched("0 * * * *", "UTC")
    t0 = datetime(2025, 6, 2, 9, 59, tzinfo=UTC)
    d = decide(s, t0, t0 + timedelta(hours=5, minutes=2))  # back two minutes after 15:00
    assert [t for t, _ in d.run] == [datetime(2025, 6, 2, 15, tzinfo=UTC)] and len(d.skipped) == 5


def test_first_decision_looks_back_only_the_grace_period() -> None:
    s = sched("*/10 * * * *", "UTC", grace_s=300.0)
    now = datetime(2025, 1, 1, 12, 3, tzinfo=UTC)
    d = decide(s, None, now)
    assert [t for t, _ in d.run] == [datetime(2025, 1, 1, 12, 0, tzinfo=UTC)] and not d.skipped
    d2 = decide(s, d.through, now + timedelta(minutes=10))
    assert [t for t, _ in d2.run] == [datetime(2025, 1, 1, 12, 10, tzinfo=UTC)]
    assert not decide(s, d2.through, d2.through).run  # the same instant again decides nothing


def test_a_very_long_downtime_counts_what_it_does_not_list() -> None:
    s = sched("* * * * *", "UTC", catch_up="none")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    d = decide(s, t0, t0 + timedelta(days=7))
    assert len(d.skipped) == 100 and d.unlisted == 7 * 24 * 60 - 100 - len(d.run)
