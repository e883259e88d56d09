"""Money and VAT: amounts in Decimal, rounded half-up to cents; which VAT an invoice carries.

Every amount on an invoice is computed here from hours and rates, never
written by a model. :func:`totals` follows EN 16931's arithmetic: each line
is quantity × price rounded to cents (BT-131), the net is their sum (BT-106),
the VAT is the net × rate rounded to cents (BT-117), the total their sum
(BT-112).

:func:`treatment` decides the VAT of a client for a seller (a service
business, so the place of supply of a B2B service is the client's country):

- same country as the seller: VAT at the client's rate (``vat_rate`` in
  clients.csv) or the business's standard rate, category ``S``;
- a business in another EU country: reverse charge, VAT 0, category ``AE``,
  with the legal note; its VAT id is required (a missing or malformed one is a
  :class:`~aios_kernel.ValidationError` naming ``vat_id`` and the fix);
- outside the EU: not subject to the seller's VAT, category ``O``, with a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .._errors import ValidationError

CENT = Decimal("0.01")

EU = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
"""Member states of the EU (ISO 3166 codes; Greece's VAT ids start with EL)."""

REVERSE_CHARGE_NOTE = ("Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive "
                       "2006/112/EC). The recipient's VAT id is stated above.")


def money(value: Any) -> Decimal:
    """``value`` as a Decimal rounded half-up to cents."""
    return decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def decimal(value: Any, *, field: str = "amount") -> Decimal:
    """``value`` (text or a number) as a finite Decimal; a ValidationError naming ``field`` otherwise."""
    if isinstance(value, float):
        value = repr(value)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field} {value!r} is not a number (use digits and a dot, e.g. 1234.50)", field=field) from None
    if not d.is_finite():
        raise ValidationError(f"{field} must be a finite number, got {value!r}", field=field)
    return d


def cents(value: Any) -> str:
    """The amount as text with exactly two decimals (``3120.00``)."""
    return str(money(value))


@dataclass(frozen=True)
class Treatment:
    """The VAT an invoice carries: EN 16931 category, rate in percent, and the note the law asks for."""

    category: str
    rate: Decimal
    note: str = ""
    exemption_code: str = ""
    buyer_vat_id: str = ""

    def to_json(self) -> dict[str, str]:
        return {"category": self.category, "rate": str(self.rate.normalize()) if self.rate else "0", "note": self.note,
                "exemption_code": self.exemption_code, "buyer_vat_id": self.buyer_vat_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Treatment:
        return cls(str(data.get("category") or "S"), decimal(data.get("rate", "0"), field="vat_rate"), str(data.get("note") or ""),
                   str(data.get("exemption_code") or ""), str(data.get("buyer_vat_id") or ""))


def vat_id(value: str, *, country: str, who: str) -> str:
    """A VAT id checked (format and check digits, python-stdnum) and compacted; ValidationError naming ``vat_id``."""
    from stdnum.eu import vat as eu_vat

    text = (value or "").strip()
    compact = eu_vat.compact(text) if text else ""
    prefix = "EL" if country == "GR" else country
    if not compact.startswith(prefix) or not eu_vat.is_valid(compact):
        raise ValidationError(f"{who}: vat_id {value!r} is not a valid {country} VAT id (it starts with {prefix} and its check "
                              "digits must match); correct vat_id in clients.csv and run `aios ingest`", field="vat_id")
    return compact


def treatment(client: Mapping[str, Any], *, seller_country: str, standard_rate: Any) -> Treatment:
    """The VAT of an invoice to ``client`` (a clients row: ``name``, ``country``, ``vat_id``, ``vat_rate``)."""
    who = f"client {client.get('name') or client.get('id') or '?'}"
    country = str(client.get("country") or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ValidationError(f"{who} has no country (ISO 3166 code such as DE, NL, NO); add country to clients.csv and run "
                              "`aios ingest`: the VAT of an invoice depends on it", field="country")
    seller = seller_country.strip().upper()
    if country == seller:
        given = str(client.get("vat_rate") or "").strip()
        rate = decimal(given if given else standard_rate, field="vat_rate")
        if rate < 0 or rate > 100:
            raise ValidationError(f"{who}: vat_rate {rate} is not a percentage between 0 and 100; correct it in clients.csv",
                                  field="vat_rate")
        return Treatment("S", rate.normalize())
    if country in EU and seller in EU:
        raw = str(client.get("vat_id") or "").strip()
        if not raw:
            raise ValidationError(
                f"{who} is a business in another EU country ({country}): the invoice is reverse charge and must state "
                f"its VAT id; add vat_id (e.g. {country}123456789) for it to clients.csv and run `aios ingest`",
                field="vat_id")
        return Treatment("AE", Decimal("0"), REVERSE_CHARGE_NOTE, "VATEX-EU-AE", vat_id(raw, country=country, who=who))
    note = (f"Not subject to VAT in {seller}: the service is supplied to a business in {country}, where the place of supply "
            "is (Article 44, Council Directive 2006/112/EC).")
    return Treatment("O", Decimal("0"), note, "VATEX-EU-O")


@dataclass(frozen=True)
class Totals:
    net: Decimal
    vat: Decimal
    total: Decimal

    def to_json(self) -> dict[str, str]:
        return {"net": cents(self.net), "vat": cents(self.vat), "total": cents(self.total)}


def line_amount(hours: Any, rate: Any) -> Decimal:
    return money(decimal(hours, field="hours") * decimal(rate, field="rate"))


def totals(line_amounts: Iterable[Any], rate: Decimal) -> Totals:
    net = sum((money(a) for a in line_amounts), Decimal("0"))
    vat = money(net * rate / Decimal(100))
    return Totals(net, vat, net + vat)
