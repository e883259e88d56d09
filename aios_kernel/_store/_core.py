"""The ``core`` component: the event log itself."""

from __future__ import annotations

from ._events import EVENTS_DDL
from ._schema import Migration, component

core = component("core")
core.add_migration(Migration(1, "event_log", EVENTS_DDL))
# Every index on the log is paid on every event of every run. Events are read by entity (a
# record's history) and by run (correlation); reading by type happens only in offline tools
# (rebuild, replay), which scan the log in order anyway.
core.add_migration(Migration(2, "no_type_index", "DROP INDEX IF EXISTS events_type;"))
