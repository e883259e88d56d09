"""Reading the invoice ledger: the typed API other layers use (they never query its tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .._errors import NotFoundError
from .._store import _json
from ._tax import decimal


@dataclass(frozen=True)
class Invoice:
    """One issued invoice or credit note, as the ledger holds it now."""

    number: str
    kind: str
    status: str
    client: str
    client_id: str | None
    currency: str
    net: str
    vat: str
    total: str
    paid: str
    issue_date: str
    due_date: str | None
    key: str
    ref: str | None
    credit_of: str | None
    credited_by: str | None
    pdf: str | None
    xml: str | None
    pdf_sha256: str | None
    xml_sha256: str | None
    issued_at: str
    sent_at: str | None
    paid_at: str | None
    voided_at: str | None
    void_reason: str | None
    document: dict[str, Any] = field(repr=False)
    payments: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def open_amount(self) -> Decimal:
        return decimal(self.total) - decimal(self.paid)

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("number", "kind", "status", "client", "client_id", "currency", "net", "vat", "total",
                                             "paid", "issue_date", "due_date", "ref", "credit_of", "credited_by", "pdf", "xml",
                                             "pdf_sha256", "xml_sha256", "issued_at", "sent_at", "paid_at", "voided_at",
                                             "void_reason")}
        out["payments"] = self.payments
        return out

    def __str__(self) -> str:
        what = "credit note" if self.kind == "credit_note" else "invoice"
        lines = [f"{what} {self.number} ({self.status}) to {self.client}: {self.total} {self.currency} "
                 f"(net {self.net}, VAT {self.vat}), issued {self.issue_date}" + (f", due {self.due_date}" if self.due_date else "")]
        lines += [f"  {ln['date']}  {ln['hours']:>6} h × {ln['rate']} = {ln['amount']}  {ln['description']}"
                  for ln in self.document.get("lines", [])]
        if self.document.get("tax", {}).get("note"):
            lines.append(f"  {self.document['tax']['note']}")
        lines += [f"  paid {p['amount']} on {p['date']} ({p['source']})" for p in self.payments]
        if self.credit_of:
            lines.append(f"  credits {self.credit_of}")
        if self.credited_by:
            lines.append(f"  credited by {self.credited_by}")
        if self.void_reason:
            lines.append(f"  void: {self.void_reason}")
        lines += [f"  {k}: {v}" for k, v in (("pdf", self.pdf), ("xml", self.xml)) if v]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from ._render import html

        return html({**self.document, "number": self.number})


_FIELDS = [f for f in Invoice.__dataclass_fields__ if f not in ("document", "payments")]


class Invoices:
    """The ledger, read: ``list()``, ``get(number)``, ``by_key(key)``, ``drafts()``, ``overdue(as_of)``, ``frame()``."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _row(self, row: Any, payments: bool = True) -> Invoice:
        d = dict(row)
        pays = [dict(p) for p in self.store.query("SELECT date, amount, source, reference FROM invoice_payments WHERE number=?"
                                                   " ORDER BY date, id", (d["number"],))] if payments else []
        return Invoice(**{k: d[k] for k in _FIELDS}, document=_json.loads(d["document"]), payments=pays)

    def list(self, *, year: int | None = None, status: str | None = None, client: str | None = None) -> list[Invoice]:
        """Issued invoices and credit notes in number order (filters optional)."""
        clauses, params = [], []
        for col, value in (("year", year), ("status", status)):
            if value is not None:
                clauses.append(f"{col} = ?")
                params.append(value)
        if client:
            clauses.append("(client_id = ? OR lower(client) LIKE ?)")
            params += [client, f"%{client.lower()}%"]
        sql = "SELECT * FROM invoices" + (f" WHERE {' AND '.join(clauses)}" if clauses else "") + " ORDER BY year, seq"
        return [self._row(r) for r in self.store.query(sql, tuple(params))]

    def get(self, number: str) -> Invoice:
        row = self.store.one("SELECT * FROM invoices WHERE number = ?", (number.strip(),))
        if row is None:
            known = [r[0] for r in self.store.query("SELECT number FROM invoices ORDER BY year DESC, seq DESC LIMIT 3")]
            raise NotFoundError(f"no invoice numbered {number!r}" + (f" (latest: {', '.join(known)}); `aios invoices list` "
                                                                        "shows them all" if known else "; none is issued yet"),
                                id=number)
        return self._row(row)

    def by_key(self, key: str) -> Invoice | None:
        """The invoice an effect key issued, if it did."""
        row = self.store.one("SELECT * FROM invoices WHERE key = ?", (key,))
        return None if row is None else self._row(row)

    def drafts(self) -> list[dict[str, Any]]:
        """Invoices waiting for a decision (``draft``), approved but not yet issued, or rejected."""
        return [dict(r) for r in self.store.query(
            "SELECT d.key, d.approval_id, d.ref, d.client, d.total, d.currency, d.status, d.requested_at FROM invoice_drafts d"
            " WHERE NOT EXISTS (SELECT 1 FROM invoices i WHERE i.key = d.key) ORDER BY d.requested_at, d.ref")]

    def overdue(self, as_of: str) -> list[Invoice]:
        """Invoices issued or sent, not paid, whose due date is before ``as_of`` (YYYY-MM-DD)."""
        rows = self.store.query("SELECT * FROM invoices WHERE kind='invoice' AND status IN ('issued', 'sent') AND due_date < ?"
                                " ORDER BY due_date, seq", (as_of,))
        return [self._row(r) for r in rows]

    def numbers(self, year: int) -> list[str]:
        return [r[0] for r in self.store.query("SELECT number FROM invoices WHERE year=? ORDER BY seq", (year,))]

    def series(self) -> dict[int, dict[str, Any]]:
        """Per year: the first number of the series, how many are issued, the last one."""
        out: dict[int, dict[str, Any]] = {}
        for r in self.store.query("SELECT s.year, s.prefix, s.first_seq, count(i.id), max(i.seq) FROM invoice_series s"
                                  " LEFT JOIN invoices i ON i.year = s.year GROUP BY s.year ORDER BY s.year"):
            out[int(r[0])] = {"prefix": r[1], "first_seq": r[2], "issued": r[3], "last_seq": r[4]}
        return out

    def version(self) -> int:
        """Moves whenever the ledger changes (for views that refresh)."""
        return int(self.store.scalar("SELECT coalesce(max(event_seq), 0) FROM invoices") or 0)

    def rows(self) -> list[dict[str, Any]]:
        """One row per invoice (issued) and per draft (no number yet): number, client, total, currency, status."""
        out = [{"number": i.number, "kind": i.kind, "client": i.client, "total": i.total, "currency": i.currency,
                "status": i.status, "issue_date": i.issue_date, "due_date": i.due_date, "paid": i.paid, "ref": i.ref}
               for i in self.list()]
        out += [{"number": None, "kind": "invoice", "client": d["client"], "total": d["total"], "currency": d["currency"],
                 "status": d["status"], "issue_date": None, "due_date": None, "paid": None, "ref": d["ref"]}
                for d in self.drafts()]
        return out

    def frame(self) -> Any:
        """:meth:`rows` as a polars DataFrame (totals as text: exact decimals)."""
        import polars as pl

        cols = ["number", "kind", "client", "total", "currency", "status", "issue_date", "due_date", "paid", "ref"]
        return pl.DataFrame(self.rows(), schema={c: pl.Utf8 for c in cols})
