"""One specification every connector kind passes (as langgraph's checkpoint-conformance does for savers).

Each kind is set up for real (the ledger's file, the e-mail connector's local
Maildir and an SMTP server on 127.0.0.1, the calendar's ICS file and a
Radicale CalDAV server, the site's git repository, a webhook endpoint on
127.0.0.1), with its own action, payload and bad payloads, and told how to
count the effects its target holds. Then the same checks run against each:
the schema, one effect per key, reconciliation after a crash on either side
of the call, retries and the breaker, a dry run, compensation where the world
allows it, and no secret in anything that is kept or shown.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from aios_kernel import ConnectorError, ValidationError
from tests.connectors.conftest import Smtp, email_settings, free_port
from tests.connectors.httpd import Endpoint
from tests.connectors.radicale import Radicale

MAIL = {"to": ["anna@example.org"], "subject": "Your proposal", "body": "Hi Anna,\n\nThanks, it is in.\n\nMaja"}
EVENT = {"title": "Call with Anna", "start": "2026-12-03T10:00:00+01:00", "end": "2026-12-03T11:00:00+01:00",
         "attendees": ["anna@example.org"], "location": "Video"}
POST = {"title": "Three lessons from a showroom visit", "body": "- Ask for the swatch log\n- Walk the floor", "channel": "blog",
        "date": "2026-11-20"}
HOOK = {"event": "invoice.issued", "text": "INV-2026-0007 issued", "data": {"number": "INV-2026-0007"}}
SECRET = "Leak-Canary-7f3a9c"
BREAKER = "breaker_failures = 3\nbreaker_cooldown_s = 0.5\ntimeout_s = 5\n"
INVOICE = {"ref": "2026-10-TST-01", "client": "Test Client GmbH", "client_id": "cl_test",
           "buyer": {"name": "Test Client GmbH", "country": "DE", "city": "Hamburg"}, "currency": "EUR",
           "issue_date": "2026-11-01", "due_date": "2026-11-15", "month": "2026-10",
           "lines": [{"date": "2026-10-02", "description": "Workshop", "hours": "2.5", "rate": "150.00", "amount": "375.00"}],
           "tax": {"category": "S", "rate": "19"}, "net": "375.00", "vat": "71.25", "total": "446.25"}
SELLER = '[invoicing]\ncountry = "DE"\nvat_id = "DE492655486"\nprefix = "T"\n'


@dataclass
class Kind:
    """One connector kind under test: its name in aios.toml, its action and payloads, and how to see its target."""

    id: str
    connector: str
    ws: Path
    action: str
    payload: dict[str, Any]
    bad: list[tuple[Any, str]]
    count: Callable[[Any], int]
    """Effects the target holds, counted at the target (lines, messages, events, commits, calls)."""
    breaks: Callable[[], None]
    """Make the target fail the way its kind fails for real (transient)."""
    credential: str = ""
    """The settings that make this kind use the credential store (added by the secrets test)."""
    undo: Callable[[Any, Kind], None] | None = None
    """Undo an applied effect through its compensation and check that the target holds nothing more."""
    stop: list[Callable[[], None]] = field(default_factory=list)

    def effects(self, wb: Any) -> int:
        return self.count(wb)

    def break_target(self) -> None:
        self.breaks()


def _table(ws: Path, name: str, lines: str) -> None:
    """Put ``lines`` at the top of ``[connectors.NAME]`` (the table is added when missing)."""
    cfg = ws / "aios.toml"
    text = cfg.read_text()
    head = f"[connectors.{name}]\n"
    cfg.write_text(text.replace(head, head + lines, 1) if head in text else text + "\n" + head + lines)


def _blocked(ws: Path, name: str, key: str, value: str) -> None:
    (ws / "blocked").write_text("a file where a folder must be")
    cfg = ws / "aios.toml"
    text = cfg.read_text()
    head = f"[connectors.{name}]\n"
    body = text.split(head, 1)[1]
    table = body.split("\n[", 1)[0]
    cleaned = "\n".join(ln for ln in table.split("\n") if not ln.startswith(f"{key} ="))
    cfg.write_text(text.replace(head + table, head + f'{key} = "{value}"\n' + cleaned, 1))


def _maildir_count(wb: Any) -> int:
    target = wb.connectors.get("email")
    folder = Path((target.sent or target.local).path)
    return sum(1 for sub in ("cur", "new") if (folder / sub).is_dir() for _ in (folder / sub).iterdir())


def _ics_count(ws: Path) -> Callable[[Any], int]:
    def count(wb: Any) -> int:
        import icalendar

        path = ws / "calendar.ics"
        return len(icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")) if path.exists() else 0

    return count


def _commits(ws: Path) -> list[str]:
    """The effect trailers of the site repository's commits, read with git itself."""
    repo = ws / "site"
    if not (repo / ".git").exists():
        return []
    done = subprocess.run(["git", "-C", str(repo), "log", "--format=%B%x00"], capture_output=True, text=True)
    if done.returncode != 0:  # no commit yet
        return []
    return [ln for msg in done.stdout.split("\0") for ln in msg.splitlines() if ln.startswith("Aios-Effect: ")]


def _undo_event(wb: Any, kind: Kind) -> None:
    outbox = wb.orchestrator.outbox
    outbox.execute(key="k-undo", connector=kind.connector, action="create_event", payload=EVENT, **_CTX)
    assert kind.effects(wb) == 1
    outbox.execute(key="k-undo:undo", connector=kind.connector, action="cancel_event", payload={"undo_of": "k-undo"}, **_CTX)
    assert kind.effects(wb) == 0


def _undo_post(wb: Any, kind: Kind) -> None:
    outbox = wb.orchestrator.outbox
    outbox.execute(key="k-undo", connector=kind.connector, action="publish_post", payload=POST, **_CTX)
    outbox.execute(key="k-undo:undo", connector=kind.connector, action="unpublish_post", payload={"undo_of": "k-undo"},
                   **_CTX)
    assert _commits(kind.ws) == ["Aios-Effect: k-undo:undo", "Aios-Effect: k-undo"]
    assert not (kind.ws / "site" / "posts" / "2026-11-20-three-lessons-from-a-showroom-visit.md").exists()


def _undo_invoice(wb: Any, kind: Kind) -> None:
    outbox = wb.orchestrator.outbox
    issued = outbox.execute(key="k-inv", connector="ledger", action="issue_invoice",
                            payload={"number": "INV-1", "total": "10.00", "currency": "EUR"}, **_CTX)
    outbox.execute(key="k-inv:undo", connector="ledger", action="void_invoice", payload={"undo_of": "k-inv", "number": "INV-1"},
                   **_CTX)
    target = wb.connectors.get("ledger")
    assert [e["action"] for e in target.entries()] == ["issue_invoice", "void_invoice"] and issued["line"] == 1


def _invoice_count(wb: Any) -> int:
    """Invoices issued, with one PDF each (no file without a number, no number without its file)."""
    target = wb.connectors.get("invoices")
    issued = target.ledger.list()
    pdfs = sorted(p.name for p in target.folder.glob("*.pdf")) if target.folder.is_dir() else []
    assert pdfs == sorted(f"{i.number}.pdf" for i in issued)
    return len([i for i in issued if i.status != "void"])


def _undo_issued(wb: Any, kind: Kind) -> None:
    target = wb.connectors.get("invoices")
    outbox = wb.orchestrator.outbox
    issued = outbox.execute(key="k-inv", connector="invoices", action="issue_invoice", payload=INVOICE, **_CTX)
    undone = outbox.execute(key="k-inv:undo", connector="invoices", action="void_invoice",
                            payload={"undo_of": "k-inv", "reason": "a later step failed"}, **_CTX)
    again = outbox.execute(key="k-inv:undo", connector="invoices", action="void_invoice", payload={"undo_of": "k-inv"},
                           **_CTX)
    kept = target.ledger.get(issued["number"])
    assert undone["number"] == issued["number"] == kept.number and kept.status == "void" and again == undone
    assert kind.effects(wb) == 0 and (kind.ws / issued["pdf"]).exists()  # a void keeps its number and its PDF


_CTX = {"run_id": "run_conformance", "task_id": "task_conformance", "step": "act"}
KINDS = ["ledger", "email-maildir", "email-smtp", "invoices", "calendar-ics", "calendar-caldav", "site", "webhook"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kind]:
    from aios_kernel import Workbench

    ws = tmp_path / "ws"
    Workbench.init(ws).close()
    _table(ws, "ledger", 'password = "secret:canary"\n')  # a credential nothing uses: the leak check still looks
    which = request.param
    stop: list[Callable[[], None]] = []
    mail_bad = [({**MAIL, "to": ["nobody"]}, "to"), ({**MAIL, "subject": 7}, "subject"), ([1, 2], "payload")]
    if which == "ledger":
        def ledger_breaks() -> None:
            _blocked(ws, "ledger", "path", "blocked/ledger.jsonl")
            _table(ws, "ledger", "breaker_failures = 2\nbreaker_cooldown_s = 0.3\n")

        k = Kind(which, "ledger", ws, "send_email", MAIL, mail_bad, lambda wb: len(wb.connectors.get("ledger").entries()),
                 ledger_breaks, undo=_undo_invoice)
    elif which == "email-maildir":
        email_settings(ws, None)
        k = Kind(which, "email", ws, "send_email", MAIL, mail_bad, _maildir_count,
                 lambda: _blocked(ws, "email", "maildir", "blocked/mail"))
    elif which == "email-smtp":
        smtp = Smtp(auth=False)
        stop.append(smtp.stop)
        email_settings(ws, smtp)
        k = Kind(which, "email", ws, "send_email", MAIL, mail_bad, lambda wb: len(smtp.messages),
                 lambda: smtp.provoke("drop-before-data", times=100))
    elif which == "invoices":
        _table(ws, "invoices", BREAKER)
        with (ws / "aios.toml").open("a") as fh:
            fh.write("\n" + SELLER)
        bad = [({**INVOICE, "currency": "euro"}, "currency"), ({**INVOICE, "total": "446.26"}, "total"),
               ([1, 2], "payload")]
        k = Kind(which, "invoices", ws, "issue_invoice", INVOICE, bad, _invoice_count,
                 lambda: _blocked(ws, "invoices", "folder", "blocked/invoices"), undo=_undo_issued)
    elif which.startswith("calendar"):
        bad = [({**EVENT, "attendees": ["nobody"]}, "attendees"), ({**EVENT, "title": 7}, "title"),
               ({**EVENT, "end": "2026-12-03T09:00:00+01:00"}, "end"), ({**EVENT, "start": "tomorrow"}, "start"),
               ([1, 2], "payload")]
        _table(ws, "calendar", BREAKER)
        if which == "calendar-ics":
            k = Kind(which, "calendar", ws, "create_event", EVENT, bad, _ics_count(ws),
                     lambda: _blocked(ws, "calendar", "path", "blocked/calendar.ics"), undo=_undo_event)
        else:
            server: Radicale = request.getfixturevalue("radicale")
            url = server.calendar()
            _table(ws, "calendar", f'url = "{url}"\n')
            k = Kind(which, "calendar", ws, "create_event", EVENT, bad, lambda wb: len(server.events(url)),
                     lambda: _blocked(ws, "calendar", "url", f"http://127.0.0.1:{free_port()}/maja/gone/"),
                     credential='username = "maja"\npassword = "secret:canary"\n', undo=_undo_event)
    elif which == "site":
        _table(ws, "site", BREAKER)

        def site_breaks() -> None:  # a git that crashed mid-commit leaves its lock behind
            from aios_kernel import Workbench as W

            with W.open(ws) as wb:  # the first post makes the repository
                wb.orchestrator.outbox.execute(key="k-first", connector="site", action="publish_post", payload=POST,
                                               **_CTX)
            (ws / "site" / ".git" / "index.lock").write_text("")

        bad = [({**POST, "title": 7}, "title"), ({**POST, "date": "20 Nov"}, "date"), ({**POST, "slug": "a b"}, "slug"),
               ([1, 2], "payload")]
        k = Kind(which, "site", ws, "publish_post", POST, bad,
                 lambda wb: len([c for c in _commits(ws) if c != "Aios-Effect: k-first"]), site_breaks, undo=_undo_post)
    else:
        endpoint = Endpoint()
        stop.append(endpoint.stop)
        _table(ws, "hook", f'kind = "webhook"\nurl = "{endpoint.url()}"\n' + BREAKER)
        bad = [({**HOOK, "event": "has spaces"}, "event"), ({**HOOK, "text": 7}, "text"), ({**HOOK, "data": [1]}, "data"),
               ([1, 2], "payload")]
        k = Kind(which, "hook", ws, "notify", HOOK, bad, lambda wb: len(endpoint.stored),
                 lambda: endpoint.provoke("fail", times=100), credential='token = "secret:canary"\n')
    k.stop = stop
    yield k
    for s in stop:
        s()


def _wb(kind: Kind) -> Any:
    from aios_kernel import Workbench

    return Workbench.open(kind.ws)


def _outbox(wb: Any) -> Any:
    return wb.orchestrator.outbox


def _execute(wb: Any, kind: Kind, key: str, payload: Any = None) -> dict[str, Any]:
    return _outbox(wb).execute(key=key, connector=kind.connector, action=kind.action,
                               payload=kind.payload if payload is None else payload, **_CTX)


def test_the_schema_refuses_a_bad_payload_and_nothing_reaches_the_target(kind: Kind) -> None:
    with _wb(kind) as wb:
        for payload, field_name in kind.bad:
            with pytest.raises(ValidationError) as err:
                _execute(wb, kind, f"k-bad-{field_name}", payload)
            assert err.value.field == field_name, (payload, str(err.value))
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
            "key": "k-crash-1", "connector": kind.connector, "action": kind.action, "payload": kind.payload,
            **{k: v for k, v in _CTX.items()}}, correlation_id="run_conformance")
        assert dict(_outbox(wb).reconcile())["k-crash-1"].startswith("not applied")
        _execute(wb, kind, "k-crash-1")
        assert kind.effects(wb) == 1


def test_a_crash_between_call_and_outcome_is_reconciled_as_applied_and_not_repeated(kind: Kind) -> None:
    with _wb(kind) as wb:
        wb.store.emit("effect.intended", "effect:k-crash-2", {
            "key": "k-crash-2", "connector": kind.connector, "action": kind.action, "payload": kind.payload,
            **{k: v for k, v in _CTX.items()}}, correlation_id="run_conformance")
        wb.connectors.call(kind.connector, "k-crash-2", kind.action, kind.payload)  # done, then the process "died"
        assert dict(_outbox(wb).reconcile())["k-crash-2"].startswith("applied before the crash")
        _execute(wb, kind, "k-crash-2")
        assert kind.effects(wb) == 1
        assert _outbox(wb).get("k-crash-2")["reconciled"] == 1


def test_transient_failures_open_the_breaker_that_keeps_calls_off_the_target(kind: Kind) -> None:
    kind.break_target()
    with _wb(kind) as wb:
        before = kind.effects(wb)
        limit = int(wb.connectors.settings(kind.connector).get("breaker_failures", 5))
        for n in range(limit):
            with pytest.raises(ConnectorError) as err:
                wb.connectors.call(kind.connector, f"k-fail-{n}", kind.action, kind.payload)
            assert err.value.transient, str(err.value)
        row = {r["connector"]: r for r in wb.connectors.status()}[kind.connector]
        assert row["state"] == "open" and row["failures"] == limit
        with pytest.raises(ConnectorError) as fast:
            wb.connectors.call(kind.connector, "k-fail-x", kind.action, kind.payload)
        assert "paused" in str(fast.value) and fast.value.retry_after > 0 and not fast.value.called
        assert kind.effects(wb) == before


def test_a_dry_run_makes_no_effect(kind: Kind) -> None:
    with _wb(kind) as wb:
        receipt = _outbox(wb).simulate(key="k-dry", connector=kind.connector, action=kind.action, payload=kind.payload,
                                       **_CTX)
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
            else:
                assert spec.compensation is None
        assert target.actions[kind.action].reversible == (kind.undo is not None and kind.id != "ledger")
        if kind.undo is not None:
            kind.undo(wb, kind)


def test_no_secret_reaches_the_store_the_receipts_or_what_is_shown(kind: Kind) -> None:
    if kind.credential:
        _table(kind.ws, kind.connector, kind.credential)
    with _wb(kind) as wb:
        wb.secrets.set("canary", SECRET)
        receipt = _execute(wb, kind, "k-secret")
        shown = [repr(wb.connectors.get(kind.connector)), str(wb.status()), json.dumps(wb.connectors.status(), default=str),
                 json.dumps(receipt, default=str), repr(wb.secrets), repr(wb.secrets.get("canary"))]
        assert all(SECRET not in s for s in shown)
        assert kind.effects(wb) == 1  # the credential was used, and the effect is there
    assert SECRET.encode() not in (kind.ws / "store.db").read_bytes()
    for path in kind.ws.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
