"""The scheduler: a simulated week against its policies, and the overhead of one scheduled run.

1. A week (Thu 27 March to Thu 3 April 2025, Europe/Berlin: spring-forward on Sunday, the 1st of the month on
   Tuesday) decided every 15 simulated minutes by ``run_due`` (the code ``aios scheduler run-due --now`` runs),
   with a 10-hour downtime (Mon 23:30 to Tue 09:30) in which nothing is decided. Every claimed run executes for
   real (papermill, an empty notebook). The table compares, per schedule, the ticks its policies say should run
   (counted from the cron expressions, independently of the scheduler) with the runs recorded.
2. The overhead of a scheduled run of an empty notebook (decision + resume + kernel start + papermill + HTML):
   ``run_due`` wall time for one due tick, median of 5; and the decision alone (claim, no run), median of 5.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
EMPTY = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pipeline_empty.ipynb"

SCHEDULES = {
    # name: (cron, catch_up, extra settings)
    "morning_triage": ("0 7 * * *", "latest", {}),
    "invoicing": ("0 9 1 * *", "latest", {}),
    "friday_digest": ("0 17 * * FRI", "latest", {}),
    "six_hourly_sync": ("0 */6 * * *", "none", {}),
    "half_day_backup": ("0 */12 * * *", "all", {"catch_up_window_s": 12 * 3600.0, "catch_up_max": 2}),
}


def expected(cron: str, catch_up: str, extra: dict, start: datetime, end: datetime, down: tuple[datetime, datetime],
             step: timedelta) -> tuple[int, int]:
    """(runs, skipped) the policy says, from the cron ticks alone: on-time ticks run; missed ones per catch_up."""
    from cronsim import CronSim

    ticks = []
    for t in CronSim(cron, start - timedelta(seconds=1)):
        if t > end:
            break
        if t >= start:
            ticks.append(t)
    # a tick is missed when no decision falls within 5 minutes (the grace) after it: those inside the downtime
    back = down[1]
    missed = [t for t in ticks if down[0] <= t < back and back - t > timedelta(minutes=5)]
    on_time = len(ticks) - len(missed)
    if not missed:
        return on_time, 0
    if catch_up == "none":
        return on_time, len(missed)
    if catch_up == "latest":
        restart_on_time = any(back - timedelta(minutes=5) <= t <= back for t in ticks)
        extra_run = 0 if restart_on_time else 1
        return on_time + extra_run, len(missed) - extra_run
    window = [t for t in missed if back - t <= timedelta(seconds=extra["catch_up_window_s"])]
    n = min(len(window), extra["catch_up_max"])
    return on_time + n, len(missed) - n


def week(quick: bool) -> None:
    from aios_kernel import Workbench
    from aios_kernel._scheduler import PipelineRuns
    from aios_kernel.pipelines.scheduler import run_due

    start = datetime(2025, 3, 27, 0, 0, tzinfo=BERLIN)
    end = start + timedelta(days=2 if quick else 7)
    down = (datetime(2025, 3, 27, 23, 30, tzinfo=BERLIN), datetime(2025, 3, 28, 9, 30, tzinfo=BERLIN)) if quick else \
        (datetime(2025, 3, 31, 23, 30, tzinfo=BERLIN), datetime(2025, 4, 1, 9, 30, tzinfo=BERLIN))
    step = timedelta(minutes=15)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        Workbench.init(root).close()
        t0 = time.perf_counter()
        with Workbench.open(root) as wb:
            for name, (cron, catch_up, extra) in SCHEDULES.items():
                wb.schedules.add(name, str(EMPTY), cron, timezone="Europe/Berlin", catch_up=catch_up, resume=False, **extra)
            now, decisions = start, 0
            # the first decision of a new schedule looks back only its grace: start deciding 1 minute before the week
            run_due(wb, start - timedelta(minutes=1))
            while now <= end:
                if not (down[0] <= now < down[1]):
                    run_due(wb, now)
                    decisions += 1
                now += step
            runs = PipelineRuns(wb.store).list()
        took = time.perf_counter() - t0
    print(f"simulated {'2 days' if quick else 'week'} {start:%a %d %b} to {end:%a %d %b %Y} (Europe/Berlin), a decision every "
          f"15 min ({decisions}), downtime {down[0]:%a %H:%M} to {down[1]:%a %H:%M}; {took:.0f} s of real time")
    print(f"{'schedule':<17} {'cron':<14} {'catch_up':<8} {'expected runs':>13} {'ran':>5} {'expected skipped':>16} {'skipped':>8}"
          f" {'failed':>6} {'ok':>3}")
    all_ok = True
    for name, (cron, catch_up, extra) in SCHEDULES.items():
        mine = [r for r in runs if r.schedule == name]
        ran = sum(1 for r in mine if r.status not in ("skipped",))
        skipped = sum(1 for r in mine if r.status == "skipped")
        failed = sum(1 for r in mine if r.status not in ("succeeded", "skipped"))
        exp_run, exp_skip = expected(cron, catch_up, extra, start, end, down, step)
        keys = [r.tick_key for r in mine]
        ok = ran == exp_run and skipped == exp_skip and failed == 0 and len(keys) == len(set(keys))
        all_ok &= ok
        print(f"{name:<17} {cron:<14} {catch_up:<8} {exp_run:>13} {ran:>5} {exp_skip:>16} {skipped:>8} {failed:>6} "
              f"{'yes' if ok else 'NO':>3}")
    print("every schedule ran exactly the ticks its policies say" if all_ok else "MISMATCH: see the rows marked NO")


def overhead(quick: bool) -> None:
    from aios_kernel import Workbench
    from aios_kernel._scheduler import PipelineRuns
    from aios_kernel.pipelines.scheduler import claim, run_due
    from aios_kernel._scheduler import me

    n = 3 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        Workbench.init(root).close()
        with Workbench.open(root) as wb:
            wb.schedules.add("empty", str(EMPTY), "0 7 * * *", timezone="UTC")
            wb.schedules.add("decide_only", str(EMPTY), "30 7 * * *", timezone="UTC", overlap="allow")
            day0 = datetime.fromisoformat("2025-06-02T07:00:30+00:00")
            whole, decide = [], []
            for i in range(n):
                t0 = time.perf_counter()
                report = run_due(wb, day0 + timedelta(days=i))
                whole.append(time.perf_counter() - t0)
                assert len(report.runs) == 1 and report.runs[0].status == "succeeded", report
                t0 = time.perf_counter()
                pending, _ = claim(wb, day0 + timedelta(days=i, minutes=30), owner=me())
                decide.append(time.perf_counter() - t0)
                for r in pending:  # recorded as cancelled: only the decision was measured
                    PipelineRuns(wb.store).request_cancel(r.id, "benchmark: decision only")
            inside = [r.duration_s for r in PipelineRuns(wb.store).list(schedule="empty")]
    print(f"scheduled run of an empty notebook, median of {n}: {statistics.median(whole):.2f} s end to end "
          f"(min {min(whole):.2f}, max {max(whole):.2f}); the run itself (resume + kernel + papermill + HTML) "
          f"{statistics.median(inside):.2f} s; the decision alone {statistics.median(decide) * 1000:.1f} ms")


def main(quick: bool) -> None:
    overhead(quick)
    week(quick)


if __name__ == "__main__":
    import sys

    main("--quick" in sys.argv)
