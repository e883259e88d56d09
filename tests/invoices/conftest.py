"""Invoice ledgers on real stores and folders, a seller configured as the demo business is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SELLER = """
[invoicing]
address = "Kastanienallee 12"
postcode = "10435"
city = "Berlin"
country = "DE"
vat_id = "DE492655486"
tax_number = "34/512/01877"
iban = "DE89 3704 0044 0532 0130 00"
bic = "COBADEFFXXX"
prefix = "LA"
digits = 3

[invoicing.continue_from]
"2026" = 32
"""


def draft(ref: str = "2026-10-TST-01", *, hours: tuple[str, ...] = ("2.5", "4"), rate: str = "150.00",
          country: str = "DE", vat_id: str = "", issue_date: str = "2026-11-01", **extra: Any) -> dict[str, Any]:
    """An invoice draft as the invoicing workflow computes it (amounts through the same functions)."""
    from aios_kernel._invoices import cents, line_amount, totals, treatment

    client = {"name": f"Client {ref}", "country": country, "vat_id": vat_id, "city": "Somewhere"}
    tax = treatment(client, seller_country="DE", standard_rate=19)
    lines = [{"date": f"2026-10-{n + 1:02d}", "description": f"Work item {n + 1}", "hours": h, "rate": rate,
              "amount": cents(line_amount(h, rate))} for n, h in enumerate(hours)]
    t = totals([ln["amount"] for ln in lines], tax.rate)
    return {"ref": ref, "client": client["name"], "client_id": f"cl_{ref}", "buyer": client, "currency": "EUR",
            "issue_date": issue_date, "due_date": "2026-11-15", "month": "2026-10", "period": "October 2026",
            "lines": lines, "tax": tax.to_json(), **t.to_json(), **extra}


@pytest.fixture
def ledger_wb(tmp_path: Path) -> Iterator[Any]:
    """An empty workspace whose seller is the demo business; ``wb.invoices`` is its ledger."""
    from aios_kernel import Workbench

    root = tmp_path / "ws"
    Workbench.init(root).close()
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text() + SELLER)
    w = Workbench.open(root)
    yield w
    w.close()


from tests.orchestrator.conftest import fast_ws, twb  # noqa: E402,F401  (demo workspaces on fast settings)
