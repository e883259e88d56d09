"""The ``core`` component: the event log itself."""

from __future__ import annotations

from ._events import EVENTS_DDL
from ._schema import Migration, component

core = component("core")
core.add_migration(Migration(1, "event_log", EVENTS_DDL))
