"""The invoice connector: issuing, voiding and marking invoices sent, on the invoice ledger in the store.

Its target is the ledger (``aios_kernel._invoices``) and the folder the
documents go to (``[connectors.invoices] folder``, default ``invoices``):
each issued invoice is ``FOLDER/NUMBER.pdf`` (Factur-X, EN 16931 XML
embedded) with ``FOLDER/NUMBER.xml`` beside it.

Exactly once: the ledger keeps the effect key of every invoice it issued
(unique), and takes the number in the same transaction as the
``invoice.issued`` event. :meth:`InvoiceConnector.was_applied` answers from
the ledger (the receipt, or None: the ledger always knows), so after a crash
on either side of the call the outbox records the invoice that exists
instead of issuing another. Voiding is the compensation of issuing: the
invoice keeps its number and is marked void.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .._errors import ConnectorError, StateError
from ._actions import Action, Field
from ._base import Connector, ConnectorEnv

ISSUE = Action("issue_invoice", (
    Field("ref", "id", help="the draft's reference, e.g. 2026-10-NRD-01"),
    Field("client", "text", max_len=300),
    Field("currency", "currency"),
    Field("issue_date", "text", max_len=10),
    Field("due_date", "text", max_len=10),
    Field("lines", "list"),
    Field("tax", "dict"),
    Field("net", "amount"),
    Field("vat", "amount"),
    Field("total", "amount"),
    Field("buyer", "dict", required=False),
), reversible=True, compensation="void_invoice")
"""Issue an approved draft: it gets the year's next number, its PDF and XML."""

VOID = Action("void_invoice", (
    Field("undo_of", "text", required=False, help="the effect key of the issue being undone"),
    Field("number", "id", required=False),
    Field("reason", "text", required=False, max_len=500),
))
"""Void an issued invoice (by its issue's effect key or its number); it keeps its number."""

MARK_SENT = Action("mark_invoice_sent", (
    Field("number", "id"),
    Field("message_id", "text", required=False, max_len=998),
))
"""Record that the invoice went out (issued → sent)."""


class InvoiceConnector(Connector):
    """Invoices on the ledger in the store, files in the workspace; see the module docstring."""

    kind = "invoices"
    actions: ClassVar[dict[str, Action]] = {"issue_invoice": ISSUE, "void_invoice": VOID, "mark_invoice_sent": MARK_SENT}

    def __init__(self, name: str, settings: dict[str, Any], env: ConnectorEnv) -> None:
        super().__init__(name, settings)
        from .._invoices import InvoiceLedger, Seller

        if env.journal.store is None:
            raise ConnectorError(f"connector {name!r} keeps its ledger in the workspace's store, and none is open",
                                 connector=name)
        self.folder = env.paths.resolve(str(settings.get("folder") or "invoices"))
        self.ledger = InvoiceLedger(env.journal.store, self.folder, Seller.from_config(env.config), root=env.paths.root)

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], env: ConnectorEnv) -> InvoiceConnector:
        return cls(name, settings, env)

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            if action == "issue_invoice":
                if self.ledger.by_key(key) is None:
                    self._writable()  # before a number is taken: a folder that cannot hold the files fails the call whole
                return self.ledger.issue(key, payload, actor=f"connector:{self.name}")
            if action == "void_invoice":
                return self._void(key, payload)
            if action == "mark_invoice_sent":
                inv = self.ledger.mark_sent(payload["number"], how=str(payload.get("message_id") or ""),
                                            actor=f"connector:{self.name}")
                return {"number": inv.number, "status": inv.status, "sent_at": inv.sent_at, "key": key}
        except StateError as exc:
            raise ConnectorError(f"{self.name}: {exc}", connector=self.name) from exc
        except OSError as exc:  # the folder cannot be written: a transient failure the breaker counts
            raise ConnectorError(f"{self.name}: cannot write the invoice files in {self.folder}: {exc}", connector=self.name,
                                 transient=True) from exc
        raise ConnectorError(f"connector {self.name!r} cannot {action}", connector=self.name)

    def check(self, action: str, payload: dict[str, Any]) -> None:
        if action == "issue_invoice":
            from .._invoices import check_draft

            check_draft(payload, self.ledger.seller)  # amounts recomputed before an intent is ever recorded

    def _writable(self) -> None:
        import os

        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.folder} is not writable")

    def _void(self, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        number = payload.get("number")
        if not number and payload.get("undo_of"):
            issued = self.ledger.by_key(str(payload["undo_of"]))
            if issued is None:
                return {"key": key, "voided": None, "skipped": f"nothing was issued for {payload['undo_of']}"}
            number = issued.number
        if not number:
            raise ConnectorError(f"{self.name}: void_invoice needs the invoice's number or undo_of (its issue's key)",
                                 connector=self.name)
        inv = self.ledger.void(str(number), reason=str(payload.get("reason") or "voided"), actor=f"connector:{self.name}")
        return {"key": key, "number": inv.number, "status": inv.status, "voided_at": inv.voided_at}

    def was_applied(self, key: str) -> dict[str, Any] | None:
        issued = self.ledger.by_key(key)
        if issued is not None:
            return self.ledger.receipt(issued)
        if key.endswith(":undo"):  # the saga's void of the invoice its issue key names
            undone = self.ledger.by_key(key[: -len(":undo")])
            if undone is not None and undone.status == "void":
                return {"key": key, "number": undone.number, "status": "void", "voided_at": undone.voided_at}
        # a sent mark (or a void by number) is idempotent: doing it again changes nothing
        return None

    def preview(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        out = super().preview(action, payload)
        if action == "issue_invoice":
            year = int(str(payload.get("issue_date") or "0000")[:4] or 0)
            number = self.ledger.next_number(year) if year else "?"
            out.update(number=number, would=f"issue {number} ({payload.get('total')} {payload.get('currency')}) with "
                                            f"{self.folder}/{number}.pdf and .xml, in {self.describe()}")
        return out

    def describe(self) -> str:
        series = self.ledger.series()
        issued = sum(s["issued"] for s in series.values())
        return f"invoice ledger in the workspace store ({issued} issued), files in {self.folder}"
