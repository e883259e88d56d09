"""VAT per client: domestic rate, reverse charge within the EU, outside the EU; clear errors for what is missing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aios_kernel import ValidationError
from aios_kernel._invoices import line_amount, totals, treatment


@pytest.mark.parametrize("client, category, rate, note", [
    ({"name": "Brightwater", "country": "DE"}, "S", Decimal("19"), ""),
    ({"name": "Reduced", "country": "DE", "vat_rate": "7"}, "S", Decimal("7"), ""),
    ({"name": "Veldhoven", "country": "NL", "vat_id": "NL 6881.36138 B01"}, "AE", Decimal("0"), "Reverse charge"),
    ({"name": "Nordlys", "country": "NO"}, "O", Decimal("0"), "Not subject to VAT in DE"),
    ({"name": "Hallberg", "country": "gb"}, "O", Decimal("0"), "Not subject to VAT in DE"),
], ids=["domestic", "domestic-reduced", "eu-reverse-charge", "norway", "uk"])
def test_the_client_decides_the_vat(client, category, rate, note) -> None:
    t = treatment(client, seller_country="DE", standard_rate=19)
    assert (t.category, t.rate) == (category, rate) and t.note.startswith(note)
    if category == "AE":
        assert t.buyer_vat_id == "NL688136138B01" and t.exemption_code == "VATEX-EU-AE"


@pytest.mark.parametrize("client, field, hint", [
    ({"name": "Kivi Payments", "country": "EE"}, "vat_id", "add vat_id (e.g. EE123456789) for it to clients.csv"),
    ({"name": "Moreau", "country": "FR", "vat_id": "FR00000000000"}, "vat_id", "not a valid FR VAT id"),
    ({"name": "Somebody"}, "country", "add country to clients.csv"),
    ({"name": "Odd", "country": "DE", "vat_rate": "190"}, "vat_rate", "between 0 and 100"),
], ids=["eu-without-vat-id", "malformed-vat-id", "no-country", "rate-out-of-range"])
def test_what_is_missing_is_a_clear_error_naming_the_field(client, field, hint) -> None:
    with pytest.raises(ValidationError) as err:
        treatment(client, seller_country="DE", standard_rate=19)
    assert err.value.field == field and hint in str(err.value)


def test_totals_round_half_up_per_line_then_vat_on_the_net() -> None:
    lines = [line_amount("0.333", "150"), line_amount("1.005", "100"), line_amount("7.5", "130")]
    assert [str(a) for a in lines] == ["49.95", "100.50", "975.00"]
    t = totals(lines, Decimal("19"))
    assert (str(t.net), str(t.vat), str(t.total)) == ("1125.45", "213.84", "1339.29")  # 213.8355 → 213.84
