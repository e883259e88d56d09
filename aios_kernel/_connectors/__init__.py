"""Connectors to the outside world: a base class, a registry, and the local ledger."""

from ._base import Connector, Connectors, kinds, register_kind
from ._ledger import LedgerConnector

__all__ = ["Connector", "Connectors", "LedgerConnector", "kinds", "register_kind"]
