"""Connectors to the outside world: declared actions, one guarded call path, the ledger and e-mail."""

from ._actions import Action, Field, address
from ._base import Connector, ConnectorEnv, Connectors, Unknown, kinds, register_kind
from ._ledger import LedgerConnector

__all__ = ["Action", "Connector", "ConnectorEnv", "Connectors", "Field", "LedgerConnector", "Unknown", "address", "kinds",
           "register_kind"]
