"""Payments from a bank statement: a CSV export or a CAMT.053 XML file, matched by invoice number and amount.

A credit (money in) is matched to an open invoice when its text (reference,
purpose, remittance information) names the invoice's number and its amount is
exactly what is open, in the invoice's currency. Anything else is reported,
never guessed: a number with another amount, an amount without a number, a
debit. Each statement line becomes at most one payment, keyed by its
content, so importing the same export twice records nothing new.

CSV: a header row with a date column (``date``, ``booking date``,
``value date``, ``Buchungstag``), an amount column (``amount``, ``Betrag``;
``1234.50``, ``1,234.50`` or ``1.234,50``), optionally ``currency`` and one
or more text columns (``reference``, ``purpose``, ``description``,
``remittance``, ``Verwendungszweck``, ``name``, ``counterparty``).
Separators ``,`` or ``;`` are detected.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._errors import ValidationError
from ._tax import cents, decimal

DATE_COLS = ("date", "booking date", "booking_date", "value date", "value_date", "buchungstag", "valuta")
AMOUNT_COLS = ("amount", "betrag", "credit")
CURRENCY_COLS = ("currency", "währung", "waehrung", "ccy")
TEXT_COLS = ("reference", "purpose", "description", "remittance", "remittance information", "verwendungszweck", "name",
             "counterparty", "payer", "details", "memo")


@dataclass(frozen=True)
class Line:
    """One line of a statement."""

    where: str
    date: str
    amount: Decimal
    currency: str
    text: str

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.date}|{self.amount}|{self.currency}|{self.text}".encode()).hexdigest()[:20]


def _amount(raw: str, where: str) -> Decimal:
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    return decimal(text, field=f"{where} amount")


def _date(raw: str, where: str) -> str:
    from datetime import date, datetime

    text = raw.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise ValidationError(f"{where}: {raw!r} is not a date (YYYY-MM-DD or DD.MM.YYYY)", field="date") from None


def read_csv(path: Path) -> list[Line]:
    text = path.read_text(encoding="utf-8-sig")
    dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t") if text.strip() else csv.excel
    rows = list(csv.reader(text.splitlines(), dialect))
    if not rows:
        raise ValidationError(f"{path} is empty; export the statement as CSV with a header row", field="path")
    header = [h.strip().lower() for h in rows[0]]

    def col(names: tuple[str, ...], what: str, required: bool = True) -> int | None:
        for i, h in enumerate(header):
            if h in names:
                return i
        if required:
            raise ValidationError(f"{path}: no {what} column (one of: {', '.join(names)}); the header is {', '.join(rows[0])}",
                                  field=what)
        return None

    d, a, c = col(DATE_COLS, "date"), col(AMOUNT_COLS, "amount"), col(CURRENCY_COLS, "currency", False)
    texts = [i for i, h in enumerate(header) if h in TEXT_COLS]
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path.name}, line {n}"
        if len(row) < len(header):
            raise ValidationError(f"{where}: {len(row)} fields, the header has {len(header)}", field="path")
        out.append(Line(where, _date(row[d], where), _amount(row[a], where), (row[c].strip().upper() if c is not None else ""),
                        " ".join(row[i] for i in texts)))
    return out


def read_camt(path: Path) -> list[Line]:
    """Entries of a CAMT.053 statement (any version): booking date, amount with currency, credit or debit, remittance."""
    from lxml import etree

    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError as exc:
        raise ValidationError(f"{path} is not XML ({exc}); export the statement as CAMT.053 or CSV", field="path") from None
    out = []
    for n, entry in enumerate(root.iter("{*}Ntry"), start=1):
        amt = entry.find("{*}Amt")
        if amt is None:
            continue
        sign = -1 if (entry.findtext("{*}CdtDbtInd") or "").strip() == "DBIT" else 1
        day = entry.findtext("{*}BookgDt/{*}Dt") or entry.findtext("{*}BookgDt/{*}DtTm") or entry.findtext("{*}ValDt/{*}Dt") or ""
        text = " ".join(t.strip() for t in (*(x.text or "" for x in entry.iter("{*}Ustrd")),
                                            *(x.text or "" for x in entry.iter("{*}Ref")),
                                            entry.findtext("{*}AddtlNtryInf") or "") if t and t.strip())
        where = f"{path.name}, entry {n}"
        out.append(Line(where, _date(day, where), sign * decimal(amt.text or "", field=f"{where} amount"),
                        (amt.get("Ccy") or "").upper(), text))
    return out


def read(path: str | Path) -> list[Line]:
    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"no statement file at {p}", field="path")
    head = p.read_bytes()[:400].lstrip()
    return read_camt(p) if head.startswith(b"<") else read_csv(p)


def _mentions(text: str, number: str) -> bool:
    squash = re.sub(r"[\s\-_/.]", "", text.upper())
    return re.sub(r"[\s\-_/.]", "", number.upper()) in squash


def match(ledger: Any, path: str | Path, *, actor: str = "operator") -> list[dict[str, Any]]:
    """Record the statement's payments of open invoices; one result per line (matched, skipped, or why not)."""
    lines = read(path)
    out: list[dict[str, Any]] = []
    for line in lines:
        row = {"line": line.where, "date": line.date, "amount": cents(line.amount), "currency": line.currency,
               "text": line.text[:120]}
        if line.amount <= 0:
            out.append({**row, "result": "debit: not a payment to you"})
            continue
        candidates = [i for i in ledger.list() if i.kind == "invoice" and _mentions(line.text, i.number)]
        if not candidates:
            out.append({**row, "result": "unmatched: no invoice number in the text"})
            continue
        inv = max(candidates, key=lambda i: len(i.number))
        row["number"] = inv.number
        if line.currency and line.currency != inv.currency:
            out.append({**row, "result": f"unmatched: {inv.number} is in {inv.currency}, the payment in {line.currency}"})
        elif inv.status == "void":
            out.append({**row, "result": f"unmatched: {inv.number} is void"})
        elif inv.status == "paid" and not any(p["source"] == f"bank:{line.id}" for p in inv.payments):
            out.append({**row, "result": f"unmatched: {inv.number} is already paid"})
        elif any(p["source"] == f"bank:{line.id}" for p in inv.payments):
            out.append({**row, "result": f"already recorded for {inv.number}"})
        elif line.amount != inv.open_amount:
            out.append({**row, "result": f"unmatched: {inv.number} has {cents(inv.open_amount)} open, the payment is "
                                         f"{cents(line.amount)}; record it by hand if it is a part payment"})
        else:
            ledger.record_payment(inv.number, date=line.date, amount=line.amount, source=f"bank:{line.id}",
                                  reference=line.text[:200], actor=actor)
            out.append({**row, "result": f"paid: {inv.number}"})
    return out
