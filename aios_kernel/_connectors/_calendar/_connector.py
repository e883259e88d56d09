"""The calendar connector: create, move and cancel events; read busy times and propose free slots.

Where the events live: an iCalendar file in the workspace (``[connectors.NAME]
path``, default ``calendar.ics``: nothing leaves the machine) or, with ``url``
set, a CalDAV calendar (``username``, ``password = "secret:NAME"``,
``calendar`` for a calendar found by its name under the login's home).

Exactly once, without a journal of its own to trust: an event created by the
effect ``K`` has the UID :func:`~._ics.uid_for` ``(K)``, and every event this
connector changes lists a tag of the changing key in ``X-AIOS-EFFECTS``, so
:meth:`CalendarConnector.was_applied` asks the calendar: is the event there
(created), does it carry the key's tag (moved), is it gone (cancelled)? The
hand-over journal keeps only what the key alone cannot say (which event a move
or cancellation was about, and where a moved event was before, for its undo).

Undo: ``create_event`` is undone by ``cancel_event`` (the event is deleted),
``move_event`` by ``restore_event`` (moved back where it was).

The read API (:meth:`busy`, :meth:`free_slots`, :meth:`event`) is what agents
and notebooks use to plan: free slots are inside the owner's working hours
(``[workspace] timezone``, ``working_hours``, ``working_days``), after the
"now" given, and clear of every busy occurrence, recurring ones included.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar

from ..._errors import ConnectorError, ValidationError
from .._actions import Action, Field
from .._base import Connector, ConnectorEnv
from ._caldav import CalDav
from ._ics import build_event, marks, moved, new_calendar, span, tag, times, uid_for
from ._ics import busy as expand_busy
from ._icsfile import IcsFile, Stored
from ._worktime import Busy, Slot, WorkingTime, free_slots

_WHEN = (Field("start", "time", help="when it starts, with its zone (e.g. 2026-12-03T10:00:00+01:00)"),
         Field("end", "time", required=False, help="when it ends (or give duration_min)"),
         Field("duration_min", "int", required=False, help="minutes, when no end is given"))
CREATE = Action("create_event", (
    Field("title", "text", max_len=500), *_WHEN,
    Field("attendees", "addresses", required=False), Field("location", "text", required=False, max_len=500),
    Field("description", "text", required=False, max_len=20_000),
    Field("tentative", "bool", required=False, help="a time proposed and held, not yet agreed (STATUS:TENTATIVE)"),
    Field("only_if_free", "bool", required=False,
          help="refuse, rather than double-book, when the time is no longer free when the event is created"),
), reversible=True, compensation="cancel_event")
MOVE = Action("move_event", (
    Field("uid", "id", help="the event's UID (calendar.event(uid) shows it)"), *_WHEN,
    Field("etag", "text", required=False, max_len=200,
          help="the version the move was decided on: if the event changed since, the move is refused"),
), reversible=True, compensation="restore_event")
CANCEL = Action("cancel_event", (
    Field("uid", "id", required=False, help="the event to cancel"),
    Field("undo_of", "text", required=False, help="the key of the create_event this undoes"),
    Field("etag", "text", required=False, max_len=200),
), reversible=False)
RESTORE = Action("restore_event", (Field("undo_of", "text", help="the key of the move_event this undoes"),),
                 reversible=False)
"""A moved event back where it was before the move ``undo_of``."""


class CalendarConnector(Connector):
    """Events in an ICS file or on a CalDAV server; see the module docstring."""

    kind = "calendar"
    actions: ClassVar[dict[str, Action]] = {a.name: a for a in (CREATE, MOVE, CANCEL, RESTORE)}

    def __init__(self, name: str, settings: dict[str, Any], env: ConnectorEnv) -> None:
        super().__init__(name, settings)
        self.env = env
        self.work = WorkingTime.from_config(env.config)
        self.organizer = str(env.config.get("workspace.email") or "")
        url = str(settings.get("url") or "")
        if url:
            password = settings.get("password") or ""
            secret = env.secrets.resolve(password, key=f"connectors.{name}.password") if password else None
            self.target: IcsFile | CalDav = CalDav(url, str(settings.get("calendar") or ""),
                                                   str(settings.get("username") or ""), secret, self.timeout_s, name)
        else:
            self.target = IcsFile(env.paths.resolve(str(settings.get("path") or "calendar.ics")), name)

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], env: ConnectorEnv) -> CalendarConnector:
        return cls(name, settings, env)

    def describe(self) -> str:
        return self.target.describe()

    def close(self) -> None:
        if isinstance(self.target, CalDav):
            self.target.close()

    # -- checks the schema cannot express -------------------------------------------------------

    def check(self, action: str, payload: dict[str, Any]) -> None:
        if action in ("create_event", "move_event"):
            times(payload)
        if action == "cancel_event" and not (payload.get("uid") or payload.get("undo_of")):
            raise ValidationError(f"{self.name}.cancel_event needs 'uid' (the event) or 'undo_of' (the create it undoes)",
                                  field="uid")

    def preview(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        what = {"create_event": f"create {payload.get('title')!r}", "move_event": f"move {payload.get('uid')}",
                "cancel_event": f"cancel {payload.get('uid') or 'the event of ' + str(payload.get('undo_of'))}",
                "restore_event": f"move back the event of {payload.get('undo_of')}"}.get(action, action)
        if action in ("create_event", "move_event"):
            start, end = times(payload)
            what += f" to {start.astimezone(self.work.zone):%a %d %b %Y %H:%M}–{end.astimezone(self.work.zone):%H:%M}"
        return {"connector": self.name, "kind": self.kind, "action": action, "would": f"{what} in {self.describe()}"}

    # -- apply --------------------------------------------------------------------------------

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "create_event":
            return self._create(key, payload)
        if action == "move_event":
            start, end = times(payload)
            return self._move(key, str(payload["uid"]), start, end, payload.get("etag"), action)
        if action == "cancel_event":
            return self._cancel(key, payload)
        if action == "restore_event":
            return self._restore(key, str(payload["undo_of"]))
        raise ConnectorError(f"{self.name} cannot {action}", connector=self.name)

    def _create(self, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        uid = uid_for(key)
        if payload.get("only_if_free"):
            self._still_free(uid, payload)
        self._mark(key, "create_event", uid)
        cal = new_calendar()
        cal.add_component(build_event(key, payload, organizer=self.organizer))
        stored, created = self.target.create(uid, cal)
        if not created and tag(key) not in marks(stored.event):
            raise ConnectorError(f"{self.describe()} already holds an event with UID {uid} that this workbench did not "
                                 "create; remove it, then try again", connector=self.name)
        return {**self._receipt(stored), **({} if created else {"already_applied": True})}

    def _still_free(self, uid: str, payload: dict[str, Any]) -> None:
        """A time proposed a while ago is held only if nothing took it meanwhile (the event itself aside: a retry
        after a crash finds its own event there)."""
        start, end = times(payload)
        clash = [b for b in self.busy(start, end) if b.uid != uid]
        if clash:
            c = clash[0]
            raise ConnectorError(f"{start.astimezone(self.work.zone):%a %d %b %Y %H:%M} is no longer free in "
                                 f"{self.describe()} ({c.title or 'an event'} from {c.start.astimezone(self.work.zone):%H:%M}"
                                 f" to {c.end.astimezone(self.work.zone):%H:%M}); nothing was put there: choose another "
                                 "time or run the triage again for new ones", connector=self.name)

    def _move(self, key: str, uid: str, start: datetime, end: datetime, decided_on: str | None, action: str) -> dict[str, Any]:
        stored = self.target.get(uid)
        if stored is None:
            raise ConnectorError(f"{self.describe()} has no event with UID {uid} to move; it was cancelled or the UID "
                                 "is wrong", connector=self.name)
        event = stored.event
        if tag(key) in marks(event):
            return {**self._receipt(stored), "already_applied": True}
        if event.get("RRULE") is not None:
            raise ConnectorError(f"the event {uid} ({event.get('SUMMARY')}) repeats; moving a repeating event is not done "
                                 "here: move it in your calendar application", connector=self.name)
        before = span(event, self.work.zone)
        self._mark(key, action, uid, before=before, href=stored.href)
        etag = self.target.replace(stored, moved(event, key, start, end), decided_on or stored.etag)
        if etag is None:
            raise self._changed(uid, decided_on, "move")
        again = self.target.get(uid)
        return {**self._receipt(again or stored), "before": {"start": before[0], "end": before[1]}}

    def _cancel(self, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        uid = str(payload.get("uid") or self._uid_of(str(payload["undo_of"])))
        self._mark(key, "cancel_event", uid)
        stored = self.target.get(uid)
        if stored is None:
            return {"uid": uid, "calendar": self.describe(), "cancelled": True, "already_gone": True}
        decided_on = payload.get("etag")
        if self.target.delete(stored, decided_on or stored.etag) is None:
            raise self._changed(uid, decided_on, "cancel")
        return {"uid": uid, "calendar": self.describe(), "cancelled": True, "href": stored.href}

    def _restore(self, key: str, undo_of: str) -> dict[str, Any]:
        detail = self._detail(undo_of)
        if not detail or not detail.get("before"):
            raise ConnectorError(f"the move {undo_of} left no record of where the event was; move it back by hand",
                                 connector=self.name)
        start, end = (datetime.fromisoformat(t).astimezone(timezone.utc) for t in detail["before"])
        return self._move(key, str(detail["uid"]), start, end, None, "restore_event")

    def _changed(self, uid: str, decided_on: str | None, verb: str) -> ConnectorError:
        if decided_on:
            return ConnectorError(
                f"the event {uid} changed in {self.describe()} after the {verb} was decided (it was at version "
                f"{decided_on}; the server refused with 412 Precondition Failed); nothing was changed: look at the event "
                f"(calendar.event({uid!r})) and decide the {verb} again", connector=self.name)
        return ConnectorError(f"the event {uid} changed in {self.describe()} while it was being {verb}d; it will be tried "
                              "again", connector=self.name, transient=True)

    # -- was it applied? ------------------------------------------------------------------------

    def was_applied(self, key: str) -> dict[str, Any] | None:
        detail = self._detail(key)
        action = detail.get("action") if detail else "create_event"
        uid = detail.get("uid") if detail else uid_for(key)
        stored = self.target.get(str(uid))
        if action == "cancel_event":
            return {"uid": uid, "calendar": self.describe(), "cancelled": True} if detail and stored is None else None
        if stored is not None and tag(key) in marks(stored.event):
            return self._receipt(stored)
        return None

    def retract(self, key: str) -> None:
        self.env.journal.forget(key)

    def _mark(self, key: str, action: str, uid: str, **extra: Any) -> None:
        self.env.journal.mark(key, "intent", json.dumps({"action": action, "uid": uid, **extra}))

    def _detail(self, key: str) -> dict[str, Any] | None:
        raw = self.env.journal.detail(key, "intent")
        return json.loads(raw) if raw else None

    def _uid_of(self, key: str) -> str:
        detail = self._detail(key)
        return str(detail["uid"]) if detail and detail.get("uid") else uid_for(key)

    def _receipt(self, stored: Stored) -> dict[str, Any]:
        start, end = span(stored.event, self.work.zone)
        return {"uid": stored.uid, "calendar": self.describe(), "href": stored.href, "etag": stored.etag,
                "start": start, "end": end, "title": str(stored.event.get("SUMMARY") or "")}

    # -- the read API -----------------------------------------------------------------------------

    def busy(self, start: datetime | date | str, end: datetime | date | str) -> list[Busy]:
        """Every busy occurrence overlapping [start, end), recurring events expanded within it, in UTC."""
        a, b = self.work.local(start), self.work.local(end)
        if b <= a:
            raise ValidationError(f"busy({start!r}, {end!r}): the end must follow the start", field="end")
        return expand_busy(self.target.calendars(a, b), a.astimezone(timezone.utc), b.astimezone(timezone.utc),
                           zone=self.work.zone, where=self.describe(), connector=self.name)

    def free_slots(self, after: datetime | date | str | None = None, count: int = 3, duration: int | timedelta = 60, *,
                   now: datetime | None = None, per_day: int | None = 1, step_min: int = 30,
                   within_days: int = 28) -> list[Slot]:
        """Up to ``count`` free slots of ``duration`` (minutes or a timedelta) in the owner's working hours.

        Each starts after ``now`` (default: the clock) and ``after`` (default: now), within ``within_days``
        of that, at a round time (every ``step_min`` minutes from the start of the working day), and
        overlaps no busy time of the calendar; at most ``per_day`` a day (None: no limit). Naive times and
        dates are read in ``[workspace] timezone``; slots are returned in it.
        """
        length = duration if isinstance(duration, timedelta) else timedelta(minutes=_whole(duration, "duration", 5, 12 * 60))
        count = _whole(count, "count", 1, 100)
        step = timedelta(minutes=_whole(step_min, "step_min", 5, 240))
        days = _whole(within_days, "within_days", 1, 366)
        if per_day is not None:
            per_day = _whole(per_day, "per_day", 1, 100)
        current = self.work.local(now) if now is not None else datetime.now(timezone.utc)
        start = max(current, self.work.local(after)) if after is not None else current
        until = start + timedelta(days=days)
        taken = self.busy(start - timedelta(days=1), until + timedelta(days=1))
        return free_slots(taken, self.work, after=start, now=current, count=count, duration=length, step=step,
                          per_day=per_day, until=until)

    def event(self, uid: str) -> dict[str, Any] | None:
        """One event as the calendar holds it now (its ``etag`` is what a move or cancel may be decided on), or None."""
        stored = self.target.get(uid)
        if stored is None:
            return None
        ev = stored.event
        start, end = span(ev, self.work.zone)
        return {"uid": uid, "title": str(ev.get("SUMMARY") or ""), "start": start, "end": end, "etag": stored.etag,
                "sequence": int(ev.get("SEQUENCE", 0)), "repeats": ev.get("RRULE") is not None,
                "location": str(ev.get("LOCATION") or ""), "href": stored.href}


def _whole(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{field} must be a whole number from {low} to {high}, got {value!r}", field=field)
    return value
