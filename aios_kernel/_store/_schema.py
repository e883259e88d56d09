"""Components, their numbered migrations and their projectors.

A component (``core``, ``entities``, ``memory``, ``orchestrator`` ...) owns some
tables. It declares its migrations as an ordered list of numbered, named steps
and a projector for each event type that changes its tables. Several
components may project the same event into their own tables (a run's event
writes the orchestrator's ``runs`` row and observability's span), in the
order the components registered. The store runs every registered component's
pending migrations on open, each in its own transaction, and records them; a
store whose recorded version of a component is newer than the code knows is
refused.

A *reaction* is how a layer carries on after another layer's event without
that layer knowing it: ``fn(store, event)`` runs when the event is emitted,
in its transaction, and may emit events of its own (the orchestrator requeues
a task when the policy records a decision). Reactions never run during a
rebuild: the events they emitted are in the log already.

Components register at import of their ``_schema`` module, which must stay
free of heavy imports.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._events import Event

Projector = Callable[[sqlite3.Connection, "Event"], None]
"""Applies one event to the projection tables, inside the event's transaction."""

Reaction = Callable[[Any, "Event"], None]
"""``fn(store, event)``: carries on after an event, in its transaction, by emitting more events."""


@dataclass(frozen=True)
class Migration:
    """One schema step: SQL script or a callable taking the connection."""

    version: int
    name: str
    apply: str | Callable[[sqlite3.Connection], None]


@dataclass
class Component:
    """A named owner of tables, migrations and event projectors."""

    name: str
    migrations: list[Migration] = field(default_factory=list)
    projectors: dict[str, Projector] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    """Projection tables, cleared before a rebuild from the event log."""
    json_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Columns holding JSON, by table: ``Store.verify`` checks that each value decodes."""
    time_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Columns holding the store's times, by table: ``Store.verify`` checks that each parses and is in range."""

    @property
    def version(self) -> int:
        return max((m.version for m in self.migrations), default=0)

    def migration(self, version: int, name: str) -> Callable[[Callable[[sqlite3.Connection], None]], Callable[[sqlite3.Connection], None]]:
        """Decorator form of adding a callable migration."""

        def register(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
            self.add_migration(Migration(version, name, fn))
            return fn

        return register

    def add_migration(self, migration: Migration) -> None:
        expected = self.version + 1
        if migration.version != expected:
            raise ValueError(f"{self.name}: migration {migration.version} out of order (expected {expected})")
        self.migrations.append(migration)

    def invariants(self, table: str, *, json: tuple[str, ...] = (), times: tuple[str, ...] = ()) -> None:
        """Declare which columns of ``table`` hold JSON and which hold times, for ``Store.verify``."""
        if json:
            self.json_columns[table] = (*self.json_columns.get(table, ()), *json)
        if times:
            self.time_columns[table] = (*self.time_columns.get(table, ()), *times)

    def projector(self, *event_types: str) -> Callable[[Projector], Projector]:
        """Decorator registering ``fn`` as this component's projector of ``event_types``."""

        def register(fn: Projector) -> Projector:
            for event_type in event_types:
                if event_type in self.projectors:
                    raise ValueError(f"{self.name}: event type {event_type!r} already has a projector here")
                self.projectors[event_type] = fn
                _PROJECTORS.setdefault(event_type, []).append(fn)
                _COMBINED.pop(event_type, None)
            return fn

        return register

    def reaction(self, *event_types: str) -> Callable[[Reaction], Reaction]:
        """Decorator registering ``fn(store, event)`` to run when one of ``event_types`` is emitted."""

        def register(fn: Reaction) -> Reaction:
            for event_type in event_types:
                _REACTIONS.setdefault(event_type, []).append(fn)
            return fn

        return register


_COMPONENTS: dict[str, Component] = {}
_PROJECTORS: dict[str, list[Projector]] = {}
_COMBINED: dict[str, Projector] = {}
_REACTIONS: dict[str, list[Reaction]] = {}


def component(name: str, *, tables: list[str] | None = None) -> Component:
    """Register (or fetch) the component called ``name``."""
    if name not in _COMPONENTS:
        _COMPONENTS[name] = Component(name, tables=list(tables or []))
    return _COMPONENTS[name]


def components() -> dict[str, Component]:
    """All registered components, by name, in registration order."""
    return dict(_COMPONENTS)


def projector_for(event_type: str) -> Projector | None:
    """Every component's projector of ``event_type`` as one function (None: the type is unknown)."""
    combined = _COMBINED.get(event_type)
    if combined is None:
        fns = tuple(_PROJECTORS.get(event_type, ()))
        if not fns:
            return None
        if len(fns) == 1:
            combined = fns[0]
        else:
            def combined(conn: sqlite3.Connection, event: Event, _fns: tuple[Projector, ...] = fns) -> None:
                for fn in _fns:
                    fn(conn, event)
        _COMBINED[event_type] = combined
    return combined


def reactions_for(event_type: str) -> list[Reaction]:
    return _REACTIONS.get(event_type, [])
