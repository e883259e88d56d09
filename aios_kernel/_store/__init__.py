"""The durable store: event log, projections, migrations, snapshots."""

from . import _core  # noqa: F401  (registers the event log first)
from ._chain import ChainKey, KeyRing, use_keys
from ._events import Event
from ._json import DamagedRowWarning
from ._schema import Component, Migration, component, components
from ._store import Store, StoreReader, VerifyReport, read_workspace_id

__all__ = ["ChainKey", "Component", "DamagedRowWarning", "Event", "KeyRing", "Migration", "Store", "StoreReader",
           "VerifyReport", "component", "components", "read_workspace_id", "use_keys"]
