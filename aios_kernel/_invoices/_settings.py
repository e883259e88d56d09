"""Who issues the invoices: ``[invoicing]`` in aios.toml, checked once, with the field and the fix in every error."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .._errors import ConfigError
from ._tax import EU, decimal, vat_id


@dataclass(frozen=True)
class Seller:
    """The business on every invoice: name, address, tax ids, bank account, numbering and payment terms."""

    name: str
    owner: str = ""
    email: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""
    country: str = "DE"
    vat_id: str = ""
    tax_number: str = ""
    standard_rate: Decimal = Decimal("19")
    iban: str = ""
    bic: str = ""
    bank: str = ""
    prefix: str = "INV"
    digits: int = 4
    payment_days: int = 14
    continue_from: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Any) -> Seller:
        """The seller of ``config`` (a :class:`~aios_kernel._workspace.Config` or a dict of tables)."""
        get = config.get if hasattr(config, "get") else (lambda k, d=None: d)
        inv = dict(get("invoicing") or {})
        where = "[invoicing]"
        country = str(inv.get("country") or "DE").strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise ConfigError(f"{where} country must be an ISO 3166 code such as DE, got {country!r}", key="invoicing.country")
        vid = str(inv.get("vat_id") or "").strip()
        if vid:
            try:
                vid = vat_id(vid, country=country, who="the business ([invoicing] vat_id)") if country in EU else vid
            except Exception as exc:  # a ValidationError about the seller is a settings error
                raise ConfigError(f"{where} vat_id {vid!r} is not a valid {country} VAT id; correct it in aios.toml",
                                  key="invoicing.vat_id") from exc
        iban = str(inv.get("iban") or "").strip()
        if iban:
            from schwifty import IBAN
            from schwifty.exceptions import SchwiftyException

            try:
                iban = str(IBAN(iban).compact)
            except SchwiftyException as exc:
                raise ConfigError(f"{where} iban {iban!r} is not a valid IBAN ({exc}); correct it in aios.toml",
                                  key="invoicing.iban") from None
        prefix = str(inv.get("prefix") or "INV").strip()
        if not prefix or any(c.isspace() or c in "/\\." for c in prefix):
            raise ConfigError(f"{where} prefix {prefix!r} must be a short code without spaces, slashes or dots (e.g. INV)",
                              key="invoicing.prefix")
        start: dict[int, int] = {}
        for year, last in dict(inv.get("continue_from") or {}).items():
            if not (str(year).isdigit() and len(str(year)) == 4) or not isinstance(last, int) or last < 0:
                raise ConfigError(f"{where} continue_from: each entry is a year and the last number issued in it before this "
                                  f"ledger (\"2026\" = 32), got {year!r} = {last!r}", key=f"invoicing.continue_from.{year}")
            start[int(year)] = last
        try:
            rate = decimal(inv.get("vat_rate", 19), field="vat_rate")
        except Exception:
            raise ConfigError(f"{where} vat_rate must be a percentage such as 19", key="invoicing.vat_rate") from None
        return cls(name=str(inv.get("legal_name") or get("workspace.name") or "").strip() or "(set [workspace] name)",
                   owner=str(get("workspace.owner") or ""), email=str(get("workspace.email") or ""),
                   address=str(inv.get("address") or ""), postcode=str(inv.get("postcode") or ""),
                   city=str(inv.get("city") or ""), country=country, vat_id=vid, tax_number=str(inv.get("tax_number") or ""),
                   standard_rate=rate, iban=iban, bic=str(inv.get("bic") or "").replace(" ", ""), bank=str(inv.get("bank") or ""),
                   prefix=prefix, digits=max(1, int(inv.get("digits") or 4)), payment_days=int(inv.get("payment_days") or 14),
                   continue_from=start)

    def number(self, year: int, seq: int) -> str:
        return f"{self.prefix}-{year}-{seq:0{self.digits}d}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "owner": self.owner, "email": self.email, "address": self.address,
                "postcode": self.postcode, "city": self.city, "country": self.country, "vat_id": self.vat_id,
                "tax_number": self.tax_number, "iban": self.iban, "bic": self.bic, "bank": self.bank}
