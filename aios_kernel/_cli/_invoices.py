"""``aios invoices list | show | paid | match | void | credit | remind``: the invoice ledger."""

from __future__ import annotations

import argparse
import json
from datetime import date

from ._base import UsageError, command, open_workbench


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("list", "show", "paid", "match", "void", "credit", "remind"),
                   help="list [--json] | show NUMBER [--json] | paid NUMBER --date D [--amount A] | match STATEMENT "
                        "(bank CSV or CAMT.053) | void NUMBER --reason R | credit NUMBER --reason R | remind [--as-of D]")
    p.add_argument("target", nargs="?", help="an invoice number (show, paid, void, credit) or a statement file (match)")
    p.add_argument("--workspace", "-w", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")
    p.add_argument("--json", action="store_true", help="list, show: JSON instead of text")
    p.add_argument("--date", help="paid: the day the money arrived (YYYY-MM-DD); credit: the credit note's date (default today)")
    p.add_argument("--amount", help="paid: the amount received (default: what is open)")
    p.add_argument("--reason", default="", help="void, credit: why (printed on a credit note)")
    p.add_argument("--as-of", dest="as_of", default="", help="remind: the day taken as today (default: the newest record's)")
    p.add_argument("--status", help="list: only invoices with this status (draft, approved, issued, sent, paid, void)")


def _need(ns: argparse.Namespace, what: str) -> str:
    if not ns.target:
        raise UsageError(f"aios invoices {ns.action} needs {what}")
    return str(ns.target)


def _run(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        inv = wb.invoices
        if ns.action == "list":
            rows = [r for r in inv.rows() if not ns.status or r["status"] == ns.status]
            if ns.json:
                print(json.dumps(rows, indent=1))
            elif not rows:
                print("no invoices yet: `aios run invoicing --param month=YYYY-MM` proposes them")
            else:
                for r in rows:
                    print(f"{r['number'] or '(draft)':<14} {r['status']:<9} {r['total']:>10} {r['currency']}  {r['client']}"
                          f"  {r['ref'] or ''}" + (f"  due {r['due_date']}" if r["due_date"] else ""))
        elif ns.action == "show":
            one = inv.get(_need(ns, "an invoice NUMBER"))
            print(json.dumps({**one.to_json(), "document": one.document}, indent=1) if ns.json else one)
        elif ns.action == "paid":
            if not ns.date:
                raise UsageError("aios invoices paid NUMBER needs --date YYYY-MM-DD (the day the money arrived)")
            one = inv.record_payment(_need(ns, "an invoice NUMBER"), date=ns.date, amount=ns.amount, source="manual")
            print(f"{one.number}: {one.status}, paid {one.paid} of {one.total} {one.currency}")
        elif ns.action == "match":
            results = inv.match_bank(_need(ns, "a statement file (bank CSV export or CAMT.053 XML)"))
            for r in results:
                print(f"{r['line']}: {r['date']} {r['amount']} {r['currency']}  {r['result']}")
            print(f"{sum(r['result'].startswith('paid') for r in results)} payment(s) recorded, "
                  f"{sum(r['result'].startswith('unmatched') for r in results)} line(s) unmatched")
        elif ns.action == "void":
            if not ns.reason:
                raise UsageError("aios invoices void NUMBER needs --reason (kept with the void invoice)")
            one = inv.void(_need(ns, "an invoice NUMBER"), reason=ns.reason, actor="operator")
            print(f"{one.number} is void (it keeps its number)")
        elif ns.action == "credit":
            if not ns.reason:
                raise UsageError("aios invoices credit NUMBER needs --reason (it is printed on the credit note)")
            receipt = inv.credit(_need(ns, "an invoice NUMBER"), reason=ns.reason, issue_date=ns.date or date.today().isoformat(),
                                 actor="operator")
            print(f"credit note {receipt['number']}: {receipt['total']} {receipt['currency']}, {receipt['pdf']}")
        else:
            run = wb.run("invoice_reminders", {"as_of": ns.as_of})
            print(run)
            print("each reminder waits for approval: `aios approvals`, then `aios approve ID` and `aios resume`")
    return 0


invoices = command("invoices", "the invoice ledger: list, show NUMBER, paid NUMBER --date D, match STATEMENT, void, credit, "
                   "remind", _args)(_run)
