"""Connectors to the outside world: declared actions, one guarded call path, the ledger and e-mail (out and in)."""

from ._actions import Action, Field, address
from ._base import Connector, ConnectorEnv, Connectors, Learned, Unknown, kinds, register_kind
from ._inbox import SyncReport
from ._ledger import LedgerConnector

# kinds beyond the ledger and e-mail, imported on first use
register_kind("calendar", "aios_kernel._connectors._calendar:CalendarConnector.from_settings")
register_kind("site", "aios_kernel._connectors._site:SiteConnector.from_settings")
register_kind("webhook", "aios_kernel._connectors._webhook:WebhookConnector.from_settings")

__all__ = ["Action", "Connector", "ConnectorEnv", "Connectors", "Field", "Learned", "LedgerConnector", "SyncReport", "Unknown", "address", "kinds",
           "register_kind"]
