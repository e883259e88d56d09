"""October's invoices through the workflow: proposed as drafts, approved, issued, e-mailed with the PDF, marked sent;
reminders for the unpaid ones; the command line over the same ledger."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from decimal import Decimal
from pathlib import Path

from tests.conftest import REPO
from tests.orchestrator.conftest import ledger_lines

AIOS = REPO / ".venv" / "bin" / "aios"


def test_october_is_proposed_issued_sent_and_reminded(twb) -> None:
    run = twb.run("invoicing", {"month": "2026-10"}, idempotency_key="oct")
    computed = {i["ref"]: i for i in run.outputs()["compute"]["invoices"]}
    drafts = twb.invoices.rows()
    assert {d["ref"] for d in drafts} == set(computed) and {d["status"] for d in drafts} == {"draft"}
    assert all(d["number"] is None for d in drafts)  # a draft has no number yet
    for a in twb.approvals.pending():
        assert a.action == "issue_invoice" and "number" not in a.payload
        a.approve(by="test")
    twb.run_pending()
    issued = twb.invoices.list()
    assert [i.number for i in issued] == [f"LA-2026-{n:03d}" for n in range(33, 38)]  # continues September's LA-2026-032
    for i in issued:
        c = computed[i.ref]
        assert (i.net, i.vat, i.total, i.status) == (c["net"], c["vat"], c["total"], "sent")
        assert Decimal(i.total) == sum(Decimal(ln["amount"]) for ln in c["lines"]) + Decimal(c["vat"])
    by_client = {i.ref.split("-", 2)[2]: i for i in issued}
    assert by_client["BRW-01"].document["tax"]["category"] == "S" and by_client["BRW-01"].vat == "1026.00"
    assert by_client["VEL-01"].document["tax"]["category"] == "AE" and by_client["NRD-01"].document["tax"]["category"] == "O"
    assert by_client["HAL-01"].document["po"] == "PO-4388"
    mails = [e for e in ledger_lines(twb.paths.root) if e["action"] == "send_email"]
    assert Counter(m["key"] for m in mails).most_common(1)[0][1] == 1 and len(mails) == 5
    for m in mails:
        (att,) = m["payload"]["attachments"]
        number = Path(att["path"]).stem
        assert number in m["payload"]["subject"] and twb.invoices.get(number).pdf_sha256 == att["sha256"]
    # paid by hand and from the bank; the rest are reminded
    twb.invoices.record_payment("LA-2026-033", date="2026-11-14")
    statement = twb.paths.root / "bank.csv"
    statement.write_text("Booking date;Amount;Currency;Purpose\n16.11.2026;3.120,00;EUR;Invoice LA 2026 036 Nordlys\n"
                         "17.11.2026;1000,00;EUR;LA-2026-037 part\n18.11.2026;-45,00;EUR;Coffee\n")
    results = twb.invoices.match_bank(statement)
    assert [r["result"].split(":")[0] for r in results] == ["paid", "unmatched", "debit"]
    assert twb.invoices.match_bank(statement)[0]["result"] == "already recorded for LA-2026-036"
    remind = twb.run("invoice_reminders", {"as_of": "2026-11-20"})
    reminders = [a for a in twb.approvals.pending() if a.run_id == remind.id]
    assert sorted(a.payload["subject"].split()[2] for a in reminders) == ["LA-2026-034", "LA-2026-035", "LA-2026-037"]
    assert all(a.action == "send_email" and a.payload["attachments"][0]["path"].endswith(".pdf") for a in reminders)


def test_a_client_without_the_vat_id_it_needs_fails_its_own_task_only(twb) -> None:
    from aios_kernel import _entities

    vel = next(c for c in twb.records("clients") if c["name"] == "Veldhoven Health")
    vel.pop("event_seq")
    _entities.upsert(twb.store, "clients", {**vel, "vat_id": ""}, actor="test")
    twb.run("invoicing", {"month": "2026-10", "client": "Veldhoven"}, idempotency_key="vel")
    twb.run("invoicing", {"month": "2026-10", "client": "Nordlys"}, idempotency_key="nrd")
    for a in twb.approvals.pending():
        a.approve(by="test")
    twb.run_pending()
    failed = twb.store.one("SELECT status, attempts, error FROM queue WHERE name='invoice:2026-10-VEL-01'")
    assert failed["status"] == "failed" and failed["attempts"] == 1  # bad input is not retried
    assert "vat_id" in failed["error"] and "clients.csv" in failed["error"]
    assert [i.number for i in twb.invoices.list()] == ["LA-2026-033"]  # Nordlys; no number was spent on Veldhoven


def test_the_command_line_lists_shows_and_records_payments(twb) -> None:
    twb.run("invoicing", {"month": "2026-10", "client": "Nordlys"}, idempotency_key="cli")
    for a in twb.approvals.pending():
        a.approve(by="test")
    twb.run_pending()
    ws = str(twb.paths.root)

    def aios(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(AIOS), *args, "-w", ws], capture_output=True, text=True, timeout=120)

    listed = json.loads(aios("invoices", "list", "--json").stdout)
    assert listed == [{"number": "LA-2026-033", "kind": "invoice", "client": "Nordlys Design", "total": "3120.00",
                       "currency": "EUR", "status": "sent", "issue_date": "2026-11-01", "due_date": "2026-11-15",
                       "paid": "0.00", "ref": "2026-10-NRD-01"}]
    shown = aios("invoices", "show", "LA-2026-033")
    assert shown.returncode == 0 and "3120.00 EUR" in shown.stdout and "invoices/LA-2026-033.pdf" in shown.stdout
    paid = aios("invoices", "paid", "LA-2026-033", "--date", "2026-11-19")
    assert paid.returncode == 0 and "paid" in paid.stdout
    unknown = aios("invoices", "show", "LA-2026-099")
    assert unknown.returncode == 1 and "no invoice numbered 'LA-2026-099'" in unknown.stderr
