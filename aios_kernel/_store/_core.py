"""The ``core`` component: the event log itself, and what the store knows about itself."""

from __future__ import annotations

import sqlite3

from .._ids import new_id
from ._events import EVENTS_DDL
from ._schema import Migration, component

core = component("core")
core.add_migration(Migration(1, "event_log", EVENTS_DDL))
# Every index on the log is paid on every event of every run. Events are read by entity (a
# record's history) and by run (correlation); reading by type happens only in offline tools
# (rebuild, replay), which scan the log in order anyway.
core.add_migration(Migration(2, "no_type_index", "DROP INDEX IF EXISTS events_type;"))


@core.migration(3, "store_info")
def _store_info(conn: sqlite3.Connection) -> None:
    # What the store knows about itself, not a projection: the workspace id (it names the
    # workspace's key outside the store; made once, here) and where the keyed chain starts.
    conn.execute("CREATE TABLE store_info (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO store_info VALUES ('workspace_id', ?)", (new_id("ws"),))


core.invariants("events", json=("payload",), times=("at",))
