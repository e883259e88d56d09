"""The free slots a calendar leaves in the owner's working time (:class:`~aios_kernel._workspace.WorkingTime`).

:func:`free_slots` is a pure function of the busy times, the
working time and a "now": it proposes only slots that start after now (and
after ``after``), lie inside one working day's hours, and overlap nothing busy.
Times are computed in UTC and shown in the owner's zone, so a daylight-saving
change neither shifts nor doubles a slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..._workspace import WorkingTime


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


