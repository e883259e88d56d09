"""The durable store: event log, projections, migrations, snapshots."""

from . import _core  # noqa: F401  (registers the event log first)
from ._events import Event
from ._schema import Component, Migration, component, components
from ._store import Store, StoreReader, VerifyReport

__all__ = ["Component", "Event", "Migration", "Store", "StoreReader", "VerifyReport", "component", "components"]
