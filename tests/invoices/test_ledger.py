"""The invoice ledger: numbers without gaps, refused by the store when forced, void, credit notes, payments."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from aios_kernel import StateError, ValidationError
from tests.invoices.conftest import draft


def test_numbers_continue_the_series_without_gaps_and_one_key_is_one_invoice(ledger_wb) -> None:
    inv = ledger_wb.invoices
    a = inv.issue("k-a", draft("2026-10-A"))
    b = inv.issue("k-b", draft("2026-10-B"))
    again = inv.issue("k-a", draft("2026-10-A"))
    c = inv.issue("k-c", draft("2027-01-C", issue_date="2027-02-01") | {"due_date": "2027-02-15"})
    assert [a["number"], b["number"], c["number"]] == ["LA-2026-033", "LA-2026-034", "LA-2027-001"]
    assert again == a and inv.numbers(2026) == ["LA-2026-033", "LA-2026-034"]
    assert inv.series()[2026] == {"prefix": "LA", "first_seq": 33, "issued": 2, "last_seq": 34}
    assert inv.next_number(2026) == "LA-2026-035"


def test_the_store_refuses_a_number_forced_in_by_hand(ledger_wb) -> None:
    ledger_wb.invoices.issue("k-a", draft("2026-10-A"))
    ledger_wb.invoices.issue("k-b", draft("2026-10-B"))
    raw = sqlite3.connect(ledger_wb.paths.store)
    seq = raw.execute("SELECT max(seq) FROM events").fetchone()[0]
    cols = ("id, key, number, year, seq, kind, status, client, currency, net, vat, total, issue_date, document, issued_at,"
            " event_seq")

    def forced(number: str, n: int) -> str:
        with pytest.raises(sqlite3.IntegrityError) as err:
            raw.execute(f"INSERT INTO invoices({cols}) VALUES (?, ?, ?, 2026, ?, 'invoice', 'issued', 'X', 'EUR', '1.00',"
                        " '0.00', '1.00', '2026-11-01', '{}', '2026-11-01', ?)", (f"inv_{n}", f"hand-{n}", number, n, seq))
        return str(err.value)

    assert "already taken" in forced("LA-2026-033", 35)  # a duplicate number
    assert "out of sequence" in forced("LA-2026-037", 37)  # a gap
    assert "out of sequence" in forced("LA-2026-034b", 34)  # a sequence number used twice
    with pytest.raises(sqlite3.IntegrityError, match="keeps its number"):
        raw.execute("UPDATE invoices SET number='LA-2026-099' WHERE number='LA-2026-033'")
    raw.close()
    assert ledger_wb.invoices.numbers(2026) == ["LA-2026-033", "LA-2026-034"]
    assert ledger_wb.store.verify().ok


def test_the_ledger_is_rebuilt_from_its_events(ledger_wb) -> None:
    from aios_kernel._invoices._schema import invoices as component

    inv = ledger_wb.invoices
    inv.issue("k-a", draft("2026-10-A"))
    inv.record_payment("LA-2026-033", date="2026-11-20")
    before = [i.to_json() for i in inv.list()]
    ledger_wb.store.rebuild(component)
    assert [i.to_json() for i in inv.list()] == before and before[0]["status"] == "paid"


def test_a_voided_invoice_keeps_its_number_and_a_paid_one_is_credited_instead(ledger_wb) -> None:
    inv = ledger_wb.invoices
    a = inv.issue("k-a", draft("2026-10-A"))
    b = inv.issue("k-b", draft("2026-10-B", hours=("10",)))
    voided = inv.void(a["number"], reason="wrong client")
    assert voided.status == "void" and voided.number == "LA-2026-033" and (ledger_wb.paths.root / a["pdf"]).exists()
    assert inv.issue("k-c", draft("2026-10-C"))["number"] == "LA-2026-035"  # never reused
    with pytest.raises(StateError):
        inv.record_payment(a["number"], date="2026-11-20")
    paid = inv.record_payment(b["number"], date="2026-11-20", amount="1785.00")
    assert paid.status == "paid" and paid.paid == "1785.00"
    with pytest.raises(StateError, match="credit note"):
        inv.void(b["number"], reason="changed my mind")
    credit = inv.credit(b["number"], reason="the workshop was cancelled", issue_date="2026-11-25")
    note = inv.get(credit["number"])
    assert credit["number"] == "LA-2026-036" and note.kind == "credit_note" and note.credit_of == b["number"]
    assert (note.net, note.vat, note.total) == ("-1500.00", "-285.00", "-1785.00")
    assert all(Decimal(ln["amount"]) < 0 for ln in note.document["lines"])
    assert inv.get(b["number"]).credited_by == note.number
    with pytest.raises(StateError, match="already credited"):
        inv.credit(b["number"], reason="again", issue_date="2026-11-26", key="credit-again")
    assert inv.credit(b["number"], reason="the workshop was cancelled", issue_date="2026-11-25") == credit  # same key


def test_typed_amounts_are_refused_and_take_no_number(ledger_wb) -> None:
    inv = ledger_wb.invoices
    bad_line = draft("2026-10-A")
    bad_line["lines"][0]["amount"] = "375.01"
    with pytest.raises(ValidationError) as err:
        inv.issue("k-a", bad_line)
    assert err.value.field == "lines[0].amount" and "2.5 h × 150.00 = 375.00" in str(err.value)
    bad_total = {**draft("2026-10-B"), "total": "1160.26"}
    with pytest.raises(ValidationError) as err:
        inv.issue("k-b", bad_total)
    assert err.value.field == "total"
    reverse = draft("2026-10-C", country="NL", vat_id="NL688136138B01")
    with pytest.raises(ValidationError) as err:
        inv.issue("k-c", {**reverse, "tax": {**reverse["tax"], "buyer_vat_id": ""}})
    assert err.value.field == "vat_id"
    assert inv.list() == [] and inv.issue("k-d", draft("2026-10-D"))["number"] == "LA-2026-033"


def test_payments_by_hand_are_recorded_once_and_settle_the_invoice(ledger_wb) -> None:
    inv = ledger_wb.invoices
    number = inv.issue("k-a", draft("2026-10-A"))["number"]  # 975.00 + 185.25 VAT
    part = inv.record_payment(number, date="2026-11-10", amount="500")
    assert part.status == "issued" and part.paid == "500.00" and part.open_amount == Decimal("660.25")
    assert inv.record_payment(number, date="2026-11-10", amount="500").paid == "500.00"  # the same payment again
    rest = inv.record_payment(number, date="2026-11-18")
    assert rest.status == "paid" and rest.paid == "1160.25" and rest.paid_at == "2026-11-18"
    with pytest.raises(ValidationError) as err:
        inv.record_payment(number, date="18.11.2026")
    assert err.value.field == "date"
    assert [i.number for i in inv.overdue("2026-12-01")] == []


def test_overdue_lists_unpaid_invoices_past_their_due_date(ledger_wb) -> None:
    inv = ledger_wb.invoices
    a, b, c = (inv.issue(f"k-{x}", draft(f"2026-10-{x}"))["number"] for x in "ABC")
    inv.record_payment(b, date="2026-11-14")
    inv.void(c, reason="duplicate")
    assert [i.number for i in inv.overdue("2026-11-15")] == []  # due that day: not yet overdue
    assert [i.number for i in inv.overdue("2026-11-16")] == [a]
