"""The invoice document: what the ledger stores and every rendering (HTML, PDF, EN 16931 XML) is made from.

:func:`check_draft` is the gate an approved draft passes before it gets a
number: every field the document needs is there, and every amount is
recomputed from hours × rate (line by line, then net, VAT and total); a
figure that differs by a cent is refused, naming the field. So the numbers
on an issued invoice are the computed ones, whatever path the payload took.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from .._errors import ValidationError
from ._settings import Seller
from ._tax import Treatment, cents, decimal, line_amount, totals

REQUIRED = ("ref", "client", "currency", "issue_date", "due_date", "lines", "tax", "net", "vat", "total")


def _date(value: Any, field: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValidationError(f"{field} {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def check_draft(payload: Mapping[str, Any], seller: Seller) -> dict[str, Any]:
    """The document of an invoice about to be issued (no number yet), its amounts recomputed and checked."""
    for name in REQUIRED:
        if payload.get(name) in (None, "", []):
            raise ValidationError(f"the invoice needs {name!r}; it is computed by the invoicing workflow (hours × rate card)",
                                  field=name)
    buyer = dict(payload.get("buyer") or {})
    buyer.setdefault("name", payload["client"])
    if not str(buyer.get("country") or "").strip():
        raise ValidationError(f"the buyer {buyer['name']!r} has no country; add country to clients.csv and run `aios ingest`",
                              field="buyer.country")
    tax = Treatment.from_json(payload["tax"])
    if tax.category not in ("S", "AE", "O", "Z", "E"):
        raise ValidationError(f"VAT category {tax.category!r} is not one this ledger issues (S, AE, O, Z, E)", field="tax")
    if tax.category in ("AE", "O") and tax.rate != 0:
        raise ValidationError(f"a {tax.category} invoice carries no VAT: its rate must be 0, got {tax.rate}", field="tax")
    if tax.category == "AE" and not tax.buyer_vat_id:
        raise ValidationError(f"a reverse-charge invoice must state the buyer's VAT id; add vat_id for {buyer['name']} to "
                              "clients.csv and run `aios ingest`", field="vat_id")
    if tax.category in ("S", "AE") and not seller.vat_id:
        raise ValidationError("an invoice with VAT (or reverse charge) must state the business's own VAT id; set "
                              "[invoicing] vat_id in aios.toml", field="invoicing.vat_id")
    currency = str(payload["currency"])
    if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise ValidationError(f"currency must be an ISO 4217 code such as EUR, got {currency!r}", field="currency")
    lines = []
    for n, line in enumerate(payload["lines"]):
        where = f"lines[{n}]"
        if not isinstance(line, Mapping):
            raise ValidationError(f"{where} must be a table of date, description, hours, rate, amount", field=where)
        hours, rate = decimal(line.get("hours"), field=f"{where}.hours"), decimal(line.get("rate"), field=f"{where}.rate")
        if hours <= 0 or rate < 0:
            raise ValidationError(f"{where}: hours must be positive and the rate not negative", field=f"{where}.hours")
        amount = line_amount(hours, rate)
        if decimal(line.get("amount"), field=f"{where}.amount") != amount:
            raise ValidationError(f"{where}.amount is {line.get('amount')} but {hours} h × {rate} = {cents(amount)}; amounts "
                                  "are computed, never typed", field=f"{where}.amount")
        lines.append({"date": _date(line.get("date"), f"{where}.date"), "description": str(line.get("description") or "Services"),
                      "hours": str(hours), "rate": cents(rate), "amount": cents(amount)})
    t = totals([ln["amount"] for ln in lines], tax.rate)
    for name, value in (("net", t.net), ("vat", t.vat), ("total", t.total)):
        if decimal(payload[name], field=name) != value:
            raise ValidationError(f"{name} is {payload[name]} but the lines give {cents(value)}; amounts are computed, never "
                                  "typed", field=name)
    issue = _date(payload["issue_date"], "issue_date")
    due = _date(payload["due_date"], "due_date")
    if due < issue:
        raise ValidationError(f"due_date {due} is before the issue date {issue}", field="due_date")
    return {
        "kind": "invoice", "ref": str(payload["ref"]), "client": str(payload["client"]),
        "client_id": payload.get("client_id"), "buyer": {k: str(v) for k, v in buyer.items() if v not in (None, "")},
        "project": str(payload.get("project") or ""), "project_name": str(payload.get("project_name") or ""),
        "period": str(payload.get("period") or ""), "month": str(payload.get("month") or ""),
        "po": str(payload.get("po") or ""), "currency": currency, "issue_date": issue, "due_date": due, "lines": lines,
        "tax": tax.to_json(), **t.to_json(), "seller": seller.to_json(),
    }


def credit_document(original: Mapping[str, Any], *, issue_date: str, reason: str) -> dict[str, Any]:
    """A credit note for ``original`` (an issued document): its own number later, every amount negated."""
    doc = dict(original)
    doc["kind"] = "credit_note"
    doc["credit_of"] = {"number": original["number"], "issue_date": original["issue_date"]}
    doc["reason"] = reason
    doc["lines"] = [{**ln, "hours": str(-decimal(ln["hours"])), "amount": cents(-decimal(ln["amount"]))} for ln in original["lines"]]
    for name in ("net", "vat", "total"):
        doc[name] = cents(-decimal(original[name]))
    doc["issue_date"] = issue_date
    doc["due_date"] = issue_date
    doc.pop("number", None)
    return doc


def month_bounds(month: str) -> tuple[str, str] | None:
    """First and last day of ``YYYY-MM``, or None."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        return date(year, mon, 1).isoformat(), date(year, mon, calendar.monthrange(year, mon)[1]).isoformat()
    except (ValueError, AttributeError):
        return None


def absolute(value: str) -> Decimal:
    return abs(decimal(value))
