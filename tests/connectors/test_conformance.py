"""One specification every connector kind passes (as langgraph's checkpoint-conformance does for savers).

Each kind is set up for real (the ledger's file, the e-mail connector's local
Maildir, the e-mail connector against an SMTP server on 127.0.0.1, the invoice
ledger in the store with its folder of PDFs) and told how to count the effects
its target holds. Then the same checks run against each:
the schema, one effect per key, reconciliation after a crash on either side of
the call, retries and the breaker, a dry run, compensation where the world
allows it, and no secret in anything that is kept or shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aios_kernel import ConnectorError, ValidationError
from tests.connectors.conftest import Smtp, email_settings

MAIL = {"to": ["anna@example.org"], "subject": "Your proposal", "body": "Hi Anna,\n\nThanks, it is in.\n\nMaja"}
SECRET = "Leak-Canary-7f3a9c"
INVOICE = {"ref": "2026-10-TST-01", "client": "Test Client GmbH", "client_id": "cl_test",
           "buyer": {"name": "Test Client GmbH", "country": "DE", "city": "Hamburg"}, "currency": "EUR",
           "issue_date": "2026-11-01", "due_date": "2026-11-15", "month": "2026-10",
           "lines": [{"date": "2026-10-02", "description": "Workshop", "hours": "2.5", "rate": "150.00", "amount": "375.00"}],
           "tax": {"category": "S", "rate": "19"}, "net": "375.00", "vat": "71.25", "total": "446.25"}
SELLER = '[invoicing]\ncountry = "DE"\nvat_id = "DE492655486"\nprefix = "T"\n'


@dataclass
class Kind:
    """One connector kind under test: its name in aios.toml, and how to see its target."""

    id: str
    connector: str
    ws: Path
    smtp: Smtp | None = None
    action: str = "send_email"
    payload: dict[str, Any] | None = None

    @property
    def what(self) -> dict[str, Any]:
        return self.payload or MAIL

    def bad(self) -> list[tuple[Any, str]]:
        """Payloads the schema refuses, with the field it names."""
        if self.action == "issue_invoice":
            return [({**INVOICE, "currency": "euro"}, "currency"), ({**INVOICE, "total": "446.26"}, "total"), ([1, 2], "payload")]
        return [({**MAIL, "to": ["nobody"]}, "to"), ({**MAIL, "subject": 7}, "subject"), ([1, 2], "payload")]

    def effects(self, wb: Any) -> int:
        """Effects the target holds: lines in the ledger, messages on the server or in the Maildir, invoices (with
        one PDF each) in the invoice ledger."""
        if self.smtp is not None:
            return len(self.smtp.messages)
        target = wb.connectors.get(self.connector)
        if self.id == "invoices":
            issued = target.ledger.list()
            pdfs = sorted(p.name for p in target.folder.glob("*.pdf")) if target.folder.is_dir() else []
            assert pdfs == sorted(f"{i.number}.pdf" for i in issued)  # one file per number, no file without one
            return len(issued)
        if self.id == "ledger":
            return len(target.entries())
        sent = target.sent or target.local
        folder = Path(sent.path)
        return sum(1 for sub in ("cur", "new") if (folder / sub).is_dir() for _ in (folder / sub).iterdir())

    def break_target(self) -> None:
        """Make the target fail the way its kind fails for real (transient)."""
        if self.smtp is not None:
            self.smtp.provoke("drop-before-data", times=100)
        else:
            blocker = self.ws / "blocked"
            blocker.write_text("a file where a folder must be")
            cfg = self.ws / "aios.toml"
            if self.id == "ledger":
                keys = '[connectors.ledger]\npath = "blocked/ledger.jsonl"\nbreaker_failures = 2\nbreaker_cooldown_s = 0.3\n'
                text = cfg.read_text().replace('path = "ledger.jsonl"\n', "", 1).replace("[connectors.ledger]\n", keys, 1)
            elif self.id == "invoices":
                text = cfg.read_text().replace('folder = "invoices"\n', 'folder = "blocked/invoices"\n', 1)
            else:  # its breaker settings come from email_settings
                text = cfg.read_text().replace("[connectors.email]\n", '[connectors.email]\nmaildir = "blocked/mail"\n', 1)
            cfg.write_text(text)


@pytest.fixture(params=["ledger", "email-maildir", "email-smtp", "invoices"])
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kind]:
    from aios_kernel import Workbench

    ws = tmp_path / "ws"
    Workbench.init(ws).close()
    cfg = ws / "aios.toml"
    # every kind carries a credential, so the leak check has something to find
    cfg.write_text(cfg.read_text().replace("[connectors.ledger]\n", '[connectors.ledger]\npassword = "secret:canary"\n', 1))
    smtp = None
    if request.param == "email-smtp":
        smtp = Smtp(auth=False)
        email_settings(ws, smtp)
    elif request.param == "email-maildir":
        email_settings(ws, None)
    elif request.param == "invoices":
        text = cfg.read_text().replace('[connectors.invoices]\n', '[connectors.invoices]\nbreaker_failures = 2\n'
                                       'breaker_cooldown_s = 0.3\npassword = "secret:canary"\n', 1)
        cfg.write_text(text + "\n" + SELLER)
        yield Kind("invoices", "invoices", ws, None, "issue_invoice", INVOICE)
        return
    yield Kind(request.param, "ledger" if request.param == "ledger" else "email", ws, smtp)
    if smtp is not None:
        smtp.stop()


def _wb(kind: Kind) -> Any:
    from aios_kernel import Workbench

    return Workbench.open(kind.ws)


def _outbox(wb: Any) -> Any:
    return wb.orchestrator.outbox


def _execute(wb: Any, kind: Kind, key: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return _outbox(wb).execute(key=key, connector=kind.connector, action=kind.action, payload=payload or kind.what,
                               run_id="run_conformance", task_id="task_conformance", step="send")


def test_the_schema_refuses_a_bad_payload_and_nothing_reaches_the_target(kind: Kind) -> None:
    with _wb(kind) as wb:
        for payload, field in kind.bad():
            with pytest.raises(ValidationError) as err:
                _execute(wb, kind, f"k-bad-{field}", payload)  # type: ignore[arg-type]
            assert err.value.field == field
        assert kind.effects(wb) == 0
        assert _outbox(wb).effects() == []  # not even an intent was recorded


def test_the_same_key_twice_is_one_effect(kind: Kind) -> None:
    with _wb(kind) as wb:
        first = _execute(wb, kind, "k-once")
        again = _execute(wb, kind, "k-once")
        assert again == first and kind.effects(wb) == 1


def test_a_crash_between_intent_and_call_is_reconciled_as_not_applied_then_applied_once(kind: Kind) -> None:
    with _wb(kind) as wb:
        wb.store.emit("effect.intended", "effect:k-crash-1", {
            "key": "k-crash-1", "connector": kind.connector, "action": kind.action, "payload": kind.what,
            "run_id": "run_conformance", "task_id": "task_conformance", "step": "send"}, correlation_id="run_conformance")
        assert dict(_outbox(wb).reconcile())["k-crash-1"].startswith("not applied")
        _execute(wb, kind, "k-crash-1")
        assert kind.effects(wb) == 1


def test_a_crash_between_call_and_outcome_is_reconciled_as_applied_and_not_repeated(kind: Kind) -> None:
    with _wb(kind) as wb:
        wb.store.emit("effect.intended", "effect:k-crash-2", {
            "key": "k-crash-2", "connector": kind.connector, "action": kind.action, "payload": kind.what,
            "run_id": "run_conformance", "task_id": "task_conformance", "step": "send"}, correlation_id="run_conformance")
        wb.connectors.call(kind.connector, "k-crash-2", kind.action, kind.what)  # done, then the process "died"
        assert dict(_outbox(wb).reconcile())["k-crash-2"].startswith("applied before the crash")
        _execute(wb, kind, "k-crash-2")
        assert kind.effects(wb) == 1
        assert _outbox(wb).get("k-crash-2")["reconciled"] == 1


def test_transient_failures_open_the_breaker_that_keeps_calls_off_the_target(kind: Kind) -> None:
    kind.break_target()
    with _wb(kind) as wb:
        limit = int(wb.connectors.settings(kind.connector).get("breaker_failures", 5))
        for n in range(limit):
            with pytest.raises(ConnectorError) as err:
                wb.connectors.call(kind.connector, f"k-fail-{n}", kind.action, kind.what)
            assert err.value.transient
        row = {r["connector"]: r for r in wb.connectors.status()}[kind.connector]
        assert row["state"] == "open" and row["failures"] == limit
        with pytest.raises(ConnectorError) as fast:
            wb.connectors.call(kind.connector, "k-fail-x", kind.action, kind.what)
        assert "paused" in str(fast.value) and fast.value.retry_after > 0
        assert kind.effects(wb) == 0 if kind.smtp is None else kind.smtp.messages == []


def test_a_dry_run_makes_no_effect(kind: Kind) -> None:
    with _wb(kind) as wb:
        receipt = _outbox(wb).simulate(key="k-dry", connector=kind.connector, action=kind.action, payload=kind.what,
                                       run_id="run_conformance", task_id="task_conformance", step="send")
        assert receipt["simulated"] and receipt["preview"]["action"] == kind.action
        assert kind.effects(wb) == 0


def test_compensation_exists_exactly_where_the_world_allows_undoing(kind: Kind) -> None:
    with _wb(kind) as wb:
        target = wb.connectors.get(kind.connector)
        if "send_email" in target.actions:
            send = target.actions["send_email"]
            assert not send.reversible and send.compensation is None  # a sent e-mail cannot be taken back
        for spec in target.actions.values():
            if spec.reversible:
                assert spec.compensation in target.actions or target.any_action
        if kind.id == "ledger":
            issued = _outbox(wb).execute(key="k-inv", connector="ledger", action="issue_invoice",
                                         payload={"number": "INV-1", "total": "10.00", "currency": "EUR"},
                                         run_id="run_conformance", task_id="task_conformance", step="issue")
            _outbox(wb).execute(key="k-inv:undo", connector="ledger", action="void_invoice",
                                payload={"undo_of": "k-inv", "number": "INV-1"},
                                run_id="run_conformance", task_id="task_conformance", step="issue")
            assert [e["action"] for e in target.entries()] == ["issue_invoice", "void_invoice"] and issued["line"] == 1
        if kind.id == "invoices":
            issue = target.actions["issue_invoice"]
            assert issue.reversible and issue.compensation == "void_invoice"
            issued = _execute(wb, kind, "k-inv")
            undone = _outbox(wb).execute(key="k-inv:undo", connector="invoices", action="void_invoice",
                                         payload={"undo_of": "k-inv", "reason": "a later step failed"},
                                         run_id="run_conformance", task_id="task_conformance", step="issue")
            again = _outbox(wb).execute(key="k-inv:undo", connector="invoices", action="void_invoice",
                                        payload={"undo_of": "k-inv"}, run_id="run_conformance", task_id="task_conformance",
                                        step="issue")
            kept = target.ledger.get(issued["number"])
            assert undone["number"] == issued["number"] == kept.number and kept.status == "void" and again == undone
            assert kind.effects(wb) == 1 and (kind.ws / issued["pdf"]).exists()  # void keeps its number and its PDF


def test_no_secret_reaches_the_store_the_receipts_or_what_is_shown(kind: Kind) -> None:
    with _wb(kind) as wb:
        wb.secrets.set("canary", SECRET)
        receipt = _execute(wb, kind, "k-secret")
        shown = [repr(wb.connectors.get(kind.connector)), str(wb.status()), json.dumps(wb.connectors.status(), default=str),
                 json.dumps(receipt, default=str), repr(wb.secrets), repr(wb.secrets.get("canary"))]
        assert all(SECRET not in s for s in shown)
    assert SECRET.encode() not in (kind.ws / "store.db").read_bytes()
    for path in kind.ws.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
