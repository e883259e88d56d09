"""The calendar: events in an ICS file or on a CalDAV server, busy times and free slots in the owner's working hours."""

from ._connector import CalendarConnector
from ._worktime import Busy, Slot, WorkingTime, free_slots

__all__ = ["Busy", "CalendarConnector", "Slot", "WorkingTime", "free_slots"]
