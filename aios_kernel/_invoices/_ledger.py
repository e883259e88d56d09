"""Writing the invoice ledger: issue (the number and the event in one transaction), render, send, pay, void, credit.

**Numbers.** :meth:`InvoiceLedger.issue` opens ``BEGIN IMMEDIATE`` (the store's
write lock), looks the effect key up (issued already: the same invoice comes
back), takes the year's next number and records ``invoice.issued`` in that one
transaction. Nobody else can take a number in between, a rolled-back
transaction takes none, and the store's triggers refuse a number that is
taken, out of sequence or changed. So each year's numbers have no gaps and
are never reused; a voided invoice keeps its number.

**Files.** After the commit the PDF (Factur-X, the XML embedded) and the XML
are written to ``FOLDER/NUMBER.pdf`` and ``FOLDER/NUMBER.xml`` (0600, written
whole and renamed into place), and their SHA-256 recorded
(``invoice.rendered``). A crash between the two leaves an issued invoice
without files: the next :meth:`issue` or :meth:`receipt` of that key writes
them, from the stored document, so each number has exactly one PDF.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .._errors import StateError, ValidationError
from .._ids import stable_id
from ._document import check_draft, credit_document
from ._read import Invoice, Invoices
from ._settings import Seller
from ._tax import cents, decimal, money

ACTOR = "invoices"


@contextlib.contextmanager
def refused() -> Iterator[None]:
    """The store's refusal of a number (taken, out of sequence, changed) as a StateError saying so."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise StateError(f"the invoice ledger refused the number: {exc}; nothing was issued. Numbers are taken only by "
                         "issuing through the ledger (aios approve / aios resume, or the invoices connector)",
                         state="refused") from exc


def sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


class InvoiceLedger(Invoices):
    """The ledger with its writes; ``folder`` holds the files, ``root`` is what their recorded paths are relative to."""

    def __init__(self, store: Any, folder: Path, seller: Seller, *, root: Path | None = None) -> None:
        super().__init__(store)
        self.folder = Path(folder)
        self.root = Path(root) if root is not None else self.folder.parent
        self.seller = seller

    # -- numbers ----------------------------------------------------------------------------------

    def next_number(self, year: int) -> str:
        """The number the next invoice of ``year`` would get (nothing is taken)."""
        return self.seller.number(year, self._next_seq(year)[0])

    def _next_seq(self, year: int) -> tuple[int, bool]:
        last = self.store.scalar("SELECT max(seq) FROM invoices WHERE year = ?", (year,))
        if last is not None:
            return int(last) + 1, False
        first = self.store.scalar("SELECT first_seq FROM invoice_series WHERE year = ?", (year,))
        if first is not None:
            return int(first), False
        return self.seller.continue_from.get(year, 0) + 1, True

    def _take(self, key: str, doc: dict[str, Any], *, actor: str, cause: str | None = None) -> Invoice:
        """Inside the caller's transaction: the next number of the document's year, and ``invoice.issued``."""
        year = int(doc["issue_date"][:4])
        seq, opening = self._next_seq(year)
        if opening:
            self.store.emit("invoice.series_opened", f"invoice_series:{year}",
                            {"year": year, "prefix": self.seller.prefix, "first_seq": seq}, actor=actor)
        number = self.seller.number(year, seq)
        doc = {**doc, "number": number}
        self.store.emit("invoice.issued", f"invoice:{number}", {
            "id": stable_id("inv", key), "key": key, "number": number, "year": year, "seq": seq, "kind": doc["kind"],
            "ref": doc.get("ref"), "client_id": doc.get("client_id"), "client": doc["client"], "currency": doc["currency"],
            "net": doc["net"], "vat": doc["vat"], "total": doc["total"], "issue_date": doc["issue_date"],
            "due_date": doc.get("due_date"), "credit_of": (doc.get("credit_of") or {}).get("number"), "document": doc},
            actor=actor, cause_id=cause)
        found = self.by_key(key)
        assert found is not None
        return found

    # -- issue ------------------------------------------------------------------------------------

    def issue(self, key: str, draft: Mapping[str, Any], *, actor: str = ACTOR) -> dict[str, Any]:
        """Issue the invoice ``draft`` once for ``key`` (again: the same invoice); returns the receipt with its files."""
        doc = check_draft(draft, self.seller)  # checked before any number is taken
        with refused(), self.store.atomic():
            found = self.by_key(key)
            if found is None:
                found = self._take(key, doc, actor=actor)
        return self.receipt(found)

    def credit(self, number: str, *, reason: str, issue_date: str, key: str | None = None, actor: str = ACTOR) -> dict[str, Any]:
        """A credit note for invoice ``number`` (its own number, every amount negated); one per invoice."""
        if not reason.strip():
            raise ValidationError("a credit note needs a reason (it is printed on it)", field="reason")
        key = key or f"credit:{number}"
        with refused(), self.store.atomic():
            found = self.by_key(key)
            if found is None:
                original = self.get(number)
                if original.kind != "invoice":
                    raise StateError(f"{number} is a credit note; only an invoice can be credited", id=number, state=original.kind)
                if original.status == "void":
                    raise StateError(f"{number} is void: there is nothing to credit", id=number, state="void")
                if original.credited_by:
                    raise StateError(f"{number} was already credited by {original.credited_by}", id=number, state=original.status)
                doc = credit_document({**original.document, "number": number}, issue_date=issue_date, reason=reason.strip())
                found = self._take(key, doc, actor=actor)
        return self.receipt(found)

    # -- files ------------------------------------------------------------------------------------

    def receipt(self, invoice: Invoice | str) -> dict[str, Any]:
        """What issuing produced: number, totals, and the files (written now if a crash left them missing)."""
        inv = self.get(invoice) if isinstance(invoice, str) else invoice
        inv = self.ensure_files(inv)
        return {"number": inv.number, "kind": inv.kind, "key": inv.key, "client": inv.client, "total": inv.total,
                "currency": inv.currency, "net": inv.net, "vat": inv.vat, "issue_date": inv.issue_date,
                "due_date": inv.due_date, "pdf": inv.pdf, "xml": inv.xml, "pdf_sha256": inv.pdf_sha256,
                "xml_sha256": inv.xml_sha256, "status": inv.status}

    def paths(self, number: str) -> tuple[Path, Path]:
        return self.folder / f"{number}.pdf", self.folder / f"{number}.xml"

    def ensure_files(self, inv: Invoice) -> Invoice:
        """Write the PDF and XML of ``inv`` unless they are there with the recorded hashes."""
        pdf_path, xml_path = self.paths(inv.number)
        if inv.pdf_sha256 and sha256(pdf_path) == inv.pdf_sha256 and sha256(xml_path) == inv.xml_sha256:
            return inv
        from .._workspace import private, write_private
        from . import _cii, _render

        doc = {**inv.document, "number": inv.number}
        data = _cii.xml(doc)
        _cii.check(data)
        document = _cii.embed(_render.pdf(doc), data, doc)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        private(self.folder)
        write_private(xml_path, data)
        write_private(pdf_path, document)
        self.store.emit("invoice.rendered", f"invoice:{inv.number}", {
            "number": inv.number, "pdf": self._rel(pdf_path), "xml": self._rel(xml_path),
            "pdf_sha256": hashlib.sha256(document).hexdigest(), "xml_sha256": hashlib.sha256(data).hexdigest()}, actor=ACTOR)
        return self.get(inv.number)

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    # -- after issue --------------------------------------------------------------------------------

    def mark_sent(self, number: str, *, how: str = "", actor: str = ACTOR) -> Invoice:
        """Record that ``number`` went out (issued → sent); later calls change nothing."""
        with self.store.atomic():
            inv = self.get(number)
            if inv.status == "void":
                raise StateError(f"{number} is void; a void invoice is not sent", id=number, state="void")
            if inv.sent_at is None:
                self.store.emit("invoice.sent", f"invoice:{number}", {"number": number, "how": how}, actor=actor)
        return self.get(number)

    def void(self, number: str, *, reason: str, actor: str = ACTOR) -> Invoice:
        """Void ``number``: it keeps its number and is marked void. A paid invoice is credited instead."""
        with self.store.atomic():
            inv = self.get(number)
            if inv.status == "void":
                return inv
            if inv.status == "paid" or decimal(inv.paid) != 0:
                raise StateError(f"{number} has been paid ({inv.paid} {inv.currency}): a paid invoice cannot be voided; issue a "
                                 f"credit note instead (aios invoices credit {number} --reason ...)", id=number, state=inv.status)
            if inv.credited_by:
                raise StateError(f"{number} was credited by {inv.credited_by}; it cannot be voided as well", id=number,
                                 state=inv.status)
            self.store.emit("invoice.voided", f"invoice:{number}", {"number": number, "reason": reason or "voided"}, actor=actor)
        return self.get(number)

    def match_bank(self, path: Any, *, actor: str = "operator") -> list[dict[str, Any]]:
        """Payments from a bank statement (CSV or CAMT.053), matched by number and amount; see ``_bank``."""
        from . import _bank

        return _bank.match(self, path, actor=actor)

    def record_payment(self, number: str, *, date: str, amount: Any = None, source: str = "manual", reference: str = "",
                       actor: str = "operator") -> Invoice:
        """A payment of ``amount`` (default: what is open) on ``date``; the invoice is ``paid`` once fully paid.

        The same payment recorded twice (same invoice, source and reference, or date and amount) is recorded once.
        """
        from datetime import date as _date

        try:
            day = _date.fromisoformat(date).isoformat()
        except (TypeError, ValueError):
            raise ValidationError(f"--date {date!r} is not a date (YYYY-MM-DD)", field="date") from None
        with self.store.atomic():
            inv = self.get(number)
            if inv.kind != "invoice":
                raise StateError(f"{number} is a credit note: payments are recorded against invoices", id=number, state=inv.kind)
            if inv.status == "void":
                raise StateError(f"{number} is void; a payment for it is not recorded (check the reference)", id=number,
                                 state="void")
            paid = money(decimal(amount, field="amount")) if amount not in (None, "") else inv.open_amount
            if paid <= 0:
                raise ValidationError(f"the amount must be positive; {number} has {cents(inv.open_amount)} open", field="amount")
            pid = stable_id("pay", number, source, reference or f"{day}:{cents(paid)}")
            if self.store.scalar("SELECT 1 FROM invoice_payments WHERE id=?", (pid,)):
                return inv
            total_paid = decimal(inv.paid) + paid
            self.store.emit("invoice.paid", f"invoice:{number}", {
                "id": pid, "number": number, "date": day, "amount": cents(paid), "source": source, "reference": reference,
                "paid_total": cents(total_paid), "settled": total_paid >= decimal(inv.total)}, actor=actor)
        return self.get(number)
