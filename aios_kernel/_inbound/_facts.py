"""What an automated message says that is worth remembering: amounts, merchants, booking references, dates.

Small dicts, JSON-ready, for memory's meta. Amounts are kept as decimal
strings with an ISO currency code (no floats: money), parsed from both
``1,234.50`` and ``1.234,50`` / ``1 234,50`` writing; the text they came from
is kept so the operator can check.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ._types import Canonical

_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "CHF": "CHF", "kr": "SEK", "R$": "BRL", "C$": "CAD",
            "A$": "AUD"}
_CODES = "USD|EUR|GBP|CHF|JPY|SEK|NOK|DKK|PLN|CZK|CAD|AUD|BRL"
_NUMBER = r"\d{1,3}(?:[ ,.\u00a0\u202f]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?P<sym>US\$|R\$|C\$|A\$|[$€£¥])\s?(?P<n1>{_NUMBER})|(?P<code1>{_CODES})\s?(?P<n2>{_NUMBER})|"
    rf"(?P<n3>{_NUMBER})\s?(?P<code2>{_CODES}|€|EUR|kr)(?!\w)", re.I)
_MERCHANT = re.compile(
    r"\b(?i:charged|preauthori[sz]ed|paid|payment)\b[^\n]{0,60}?\b(?:by|to|at)\s+(?P<a>[A-Z0-9][\w&.,'*/ -]{1,40}?)"
    r"(?=\.(?:\s|$)|\.\.|\n|$| on | for |\s*\(|,? (?:the|your)\b)"
    r"|\b(?i:credit|refund|payment|transfer) from\s+(?P<b>[A-Z0-9][\w&.,'*/ -]{1,40}?)(?=\.(?:\s|$)|\.\.|\n|$| to | on |\s*\()",
    re.M)
_BOOKING = re.compile(r"\b(?:booking|reservation|confirmation|order|reference|ref\.?)\s*(?:reference|number|code|no\.?|id|#)?"
                      r"\s*[:#]\s*(?P<ref>[A-Z0-9][A-Z0-9-]{4,19})\b", re.I)
_DATE = re.compile(r"\b(?:(?:mon|tue|wed|thu|fri|sat|sun)\w*,?\s+)?(?:\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
                   r"\w*\.?(?:\s+\d{4})?|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?"
                   r"(?:\s+\d{4})?|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})\b", re.I)


def parse_amount(number: str) -> Decimal | None:
    """``2,099.00``, ``2.099,00``, ``2 099,00`` and ``45`` as a Decimal; None when it is not a number."""
    n = number.replace("\u00a0", " ").replace("\u202f", " ").strip()
    m = re.search(r"[.,](\d{1,2})$", n)
    if m:
        whole, frac = n[: m.start()], m.group(1)
    else:
        whole, frac = n, ""
    whole = re.sub(r"[ ,.]", "", whole)
    try:
        return Decimal(f"{whole}.{frac}" if frac else whole)
    except InvalidOperation:
        return None


def amounts(text: str) -> list[dict[str, Any]]:
    """Every money amount in ``text`` with its currency, in order, each once."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for m in _AMOUNT.finditer(text):
        number = m.group("n1") or m.group("n2") or m.group("n3")
        unit = m.group("sym") or m.group("code1") or m.group("code2") or ""
        currency = _SYMBOLS.get(unit, unit.upper() if unit.upper() != "€" else "EUR")
        value = parse_amount(number)
        if value is None or (currency, str(value)) in seen:
            continue
        seen.add((currency, str(value)))
        out.append({"type": "amount", "amount": str(value), "currency": currency, "text": m.group(0).strip()})
    return out


def _iso_date(text: str) -> str | None:
    if not re.search(r"\d{4}", text):
        return None  # without a year a date is ambiguous: keep the words only
    try:
        from dateutil import parser

        return parser.parse(text, dayfirst=not re.match(r"\d{1,2}/\d{1,2}/\d{4}", text), fuzzy=True).date().isoformat()
    except (ValueError, OverflowError, ImportError):
        return None


def facts(canonical: Canonical, kind: str, *, sender: str = "", subject: str = "") -> list[dict[str, Any]]:
    """Facts of an automated message of ``kind`` (``notification``, ``receipt``, ``newsletter``)."""
    text = "\n".join(x for x in (subject, canonical.text) if x)[:50_000]
    out: list[dict[str, Any]] = []
    if kind in ("receipt", "notification"):
        found = amounts(text)
        if found:
            found[0]["role"] = "charged" if re.search(r"charged|paid|debited|preauthori|sent", text, re.I) else "mentioned"
        out.extend(found[:5])
        for m in _MERCHANT.finditer(text):
            name = (m.group("a") or m.group("b") or "").strip(" .,-")
            if name and not any(f.get("type") == "merchant" for f in out):
                out.append({"type": "merchant", "name": name, "text": m.group(0).strip()[:120]})
        if not any(f.get("type") == "merchant" for f in out) and sender:
            display = sender.split("<", 1)[0].strip().strip('"')
            if display and "@" not in display:
                out.append({"type": "merchant", "name": display, "text": sender, "source": "sender"})
        for m in _BOOKING.finditer(text):
            ref = m.group("ref")
            if re.search(r"\d", ref) or ref.isupper():
                out.append({"type": "reference", "value": ref, "text": m.group(0).strip()})
                break
        for m in _DATE.finditer(text):
            d = {"type": "date", "text": m.group(0).strip()}
            iso = _iso_date(m.group(0))
            if iso:
                d["date"] = iso
            out.append(d)
            break
    elif kind == "newsletter":
        title = subject.strip() or next((ln.strip() for ln in canonical.text.splitlines() if ln.strip()), "")
        if title:
            out.append({"type": "title", "value": title[:200]})
        unsub = next((ln.href for ln in canonical.links if re.search(r"unsubscribe|abmelden|désabonner|baja", ln.href + ln.text,
                                                                       re.I)), None)
        if unsub:
            out.append({"type": "unsubscribe", "href": unsub})
    return out
