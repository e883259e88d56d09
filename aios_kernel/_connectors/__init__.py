"""Connectors to the outside world: declared actions, one guarded call path, the ledger and e-mail (out and in)."""

from ._actions import Action, Field, address
from ._base import Connector, ConnectorEnv, Connectors, Learned, Unknown, kinds, register_kind
from ._inbox import SyncReport
from ._ledger import LedgerConnector

__all__ = ["Action", "Connector", "ConnectorEnv", "Connectors", "Field", "Learned", "LedgerConnector", "SyncReport", "Unknown", "address", "kinds",
           "register_kind"]
