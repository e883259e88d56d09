"""Which ticks of a schedule to run, and which to record as skipped: a pure function of the clock.

Between the instant a schedule's ticks were last decided up to (``through``)
and ``now``, every tick is either on time (found within ``grace_s`` of its
time: run) or missed (no scheduler ran then: the catch-up policy decides). The
first decision of a schedule looks back ``grace_s`` only: nothing before a
schedule was first seen counts as missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ._model import Schedule

LISTED_MAX = 100
"""Skipped ticks recorded one by one per decision; more are counted in the ``schedule.evaluated`` event."""


@dataclass
class Decision:
    """The outcome for one schedule at one instant."""

    run: list[tuple[datetime, str]] = field(default_factory=list)
    """(tick, trigger) to run, oldest first; trigger is ``schedule`` (on time) or ``catch_up``."""
    skipped: list[tuple[datetime, str]] = field(default_factory=list)
    """(tick, reason), the newest :data:`LISTED_MAX`."""
    unlisted: int = 0
    """Missed ticks skipped but not listed (beyond :data:`LISTED_MAX`)."""
    through: datetime | None = None


def decide(s: Schedule, through: datetime | None, now: datetime) -> Decision:
    """The ticks of ``s`` in ``(through, now]`` under its catch-up policy (overlap is decided by the caller)."""
    now = now.astimezone(UTC)
    grace = timedelta(seconds=s.grace_s)
    start = (now - grace) if through is None else through.astimezone(UTC)
    d = Decision(through=max(now, start))
    if now <= start:
        return d
    ticks, total = s.spec.ticks(start, now, limit=10_000)
    on_time = [t for t in ticks if now - t <= grace]
    late = [t for t in ticks if now - t > grace]
    late_total = total - len(on_time)
    chosen: list[datetime] = []
    reasons: dict[datetime, str] = {}
    if late:
        if s.catch_up == "latest":
            if not on_time:
                chosen = late[-1:]
            covered = (on_time or late)[-1].isoformat()
            for t in late:
                reasons[t] = f"missed while no scheduler ran; covered by the run for {covered} (catch_up = latest)"
        elif s.catch_up == "none":
            for t in late:
                reasons[t] = "missed while no scheduler ran (catch_up = none)"
        else:
            window = [t for t in late if now - t <= timedelta(seconds=s.catch_up_window_s)]
            chosen = window[-s.catch_up_max:] if s.catch_up_max else []
            for t in late:
                if t not in window:
                    reasons[t] = f"missed more than catch_up_window_s = {s.catch_up_window_s:g} s ago (catch_up = all)"
                elif t not in chosen:
                    reasons[t] = f"missed; beyond catch_up_max = {s.catch_up_max} (catch_up = all)"
    d.run = [(t, "catch_up") for t in chosen] + [(t, "schedule") for t in on_time]
    skipped = [(t, reasons[t]) for t in late if t not in chosen]
    d.skipped = skipped[-LISTED_MAX:]
    d.unlisted = (late_total - len(chosen)) - len(d.skipped)
    return d
