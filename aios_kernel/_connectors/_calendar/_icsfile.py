"""The embedded calendar: one iCalendar file in the workspace.

Every change rewrites the file atomically (written beside it, fsynced,
renamed) under an exclusive lock, so a crash leaves the old file or the new
one, never half of each, and two workers never interleave. An event's version
(what a server would call its ETag) is a hash of its content, so a move decided
on an older version is refused exactly as a CalDAV server refuses it (412).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..._errors import ConnectorError
from ._ics import etag_of, master, new_calendar, parse


@dataclass
class Stored:
    """One event as the calendar holds it: its calendar object (the event, its changed occurrences, zones), version and place."""

    uid: str
    calendar: Any
    etag: str
    href: str

    @property
    def event(self) -> Any:
        return master(self.calendar, self.uid)


class IcsFile:
    """Events kept in ``path`` (created, mode 0600, on the first write)."""

    def __init__(self, path: Path, connector: str) -> None:
        self.path = Path(path)
        self.connector = connector

    def describe(self) -> str:
        return f"ics {self.path}"

    # -- reading ------------------------------------------------------------------------------

    def _load(self) -> Any:
        if not self.path.exists():
            return new_calendar()
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise ConnectorError(f"cannot read the calendar {self.path}: {exc}", connector=self.connector,
                                 transient=True) from None
        return parse(data, where=f"the calendar file {self.path}", connector=self.connector) if data.strip() else new_calendar()

    def calendars(self, start: datetime, end: datetime) -> list[Any]:
        return [self._load()]

    def get(self, uid: str) -> Stored | None:
        return self._stored(self._load(), uid)

    def _stored(self, cal: Any, uid: str) -> Stored | None:
        event = master(cal, uid)
        if event is None:
            return None
        own = new_calendar()
        for comp in cal.subcomponents:
            if comp.name == "VTIMEZONE" or str(comp.get("UID") or "") == uid:
                own.add_component(comp)
        return Stored(uid, own, etag_of(event), f"{self.path}#{uid}")

    # -- changing -----------------------------------------------------------------------------

    def create(self, uid: str, calendar: Any) -> tuple[Stored, bool]:
        """Add the events of ``calendar``; (what is there, False) when ``uid`` already is."""
        with self._locked() as cal:
            found = self._stored(cal, uid)
            if found is not None:
                return found, False
            for comp in calendar.subcomponents:
                cal.add_component(comp)
            self._write(cal)
            stored = self._stored(cal, uid)
            assert stored is not None
            return stored, True

    def replace(self, stored: Stored, event: Any, if_match: str) -> str | None:
        """Put ``event`` in place of ``stored``'s; None when the event changed since ``if_match`` (or is gone)."""
        with self._locked() as cal:
            current = master(cal, stored.uid)
            if current is None or etag_of(current) != if_match:
                return None
            cal.subcomponents[cal.subcomponents.index(current)] = event
            self._write(cal)
            return etag_of(event)

    def delete(self, stored: Stored, if_match: str) -> bool | None:
        """Remove the event (its changed occurrences too); None when it changed since ``if_match``."""
        with self._locked() as cal:
            current = master(cal, stored.uid)
            if current is None:
                return True
            if etag_of(current) != if_match:
                return None
            cal.subcomponents[:] = [c for c in cal.subcomponents if str(c.get("UID") or "") != stored.uid]
            self._write(cal)
            return True

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.parent / f".{self.path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConnectorError(f"cannot write beside the calendar {self.path}: {exc}", connector=self.connector,
                                 transient=True) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._load()
        finally:
            os.close(fd)

    def _write(self, cal: Any) -> None:
        tmp = self.path.parent / f".{self.path.name}.{os.getpid()}.tmp"
        try:
            mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o600
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            try:
                os.write(fd, cal.to_ical())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ConnectorError(f"writing the calendar {self.path} failed: {exc}", connector=self.connector,
                                 transient=True) from None
