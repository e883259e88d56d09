"""Inbound mail: a sync reads what is new (a Maildir, or IMAP on a real Dovecot) into records and memory."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from aios_kernel import ConnectorError
from tests.connectors.conftest import email_settings
from tests.connectors.dovecot import PASSWORD as IMAP_PASSWORD
from tests.connectors.test_imap import _deliver


def _message(i: int, subject: str = "", body: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = f"Client {i} <client{i}@example.org>", "maja@studio-maja.example"
    msg["Subject"] = subject or f"Question {i} about the showroom drawings"
    msg["Message-ID"], msg["Date"] = f"<sync{i}@example.org>", "Mon, 23 Nov 2026 09:00:00 +0100"
    msg.set_content(body or f"Hello Maja,\n\ncould you look at item {i} of the showroom drawings?\n\nThanks")
    return bytes(msg)


def _drop(ws: Path, name: str, raw: bytes) -> None:
    """A message in the workspace's Maildir, as a local delivery agent leaves it."""
    new = ws / "mail" / "new"
    new.mkdir(parents=True, exist_ok=True)
    (new / name).write_bytes(raw)


def _emails(wb) -> dict[str, dict]:  # noqa: ANN001
    return {a["title"]: a for a in wb.records("artifacts") if a["kind"] == "email"}


def test_a_maildir_sync_records_new_mail_refuses_a_malformed_one_and_reads_nothing_twice(wb) -> None:  # noqa: ANN001
    ws = wb.paths.root
    _drop(ws, "1.a", _message(1))
    _drop(ws, "2.b", _message(2, subject="Kiln slots for the December firing"))
    _drop(ws, "3.c", b"From: nobody\r\nSubject: half a header\r\n\x00\x00\x00 binary junk")

    report = wb.sync_mail()
    assert (report.fetched, report.written, len(report.rejected)) == (3, 2, 1), str(report)
    assert "3.c" in report.rejected[0][0] and report.rejected[0][1]
    emails = _emails(wb)
    assert {"Question 1 about the showroom drawings", "Kiln slots for the December firing"} <= set(emails)
    assert emails["Kiln slots for the December firing"]["source_path"].startswith("maildir:")
    rejected = [r for r in wb.records("ingest_rejections") if "3.c" in r["source_path"]]
    assert len(rejected) == 1
    hits = wb.memory.recall("December kiln firing slots", k=5, kind="email")
    assert any("Kiln slots" in h.text for h in hits)

    again = wb.sync_mail()
    assert (again.fetched, again.written) == (0, 0)
    _drop(ws, "4.d", _message(4))
    assert wb.sync_mail().written == 1


def test_a_sync_that_dies_halfway_goes_on_where_it_stopped(wb, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    ws = wb.paths.root
    for i in range(5):
        _drop(ws, f"{i}.m", _message(10 + i))
    email = wb.connectors.get("email")
    real, calls = email.env.inbound, []

    def inbound_that_dies_on_the_second_batch(messages):  # noqa: ANN001, ANN202  (a fault a real inbox cannot produce on demand)
        calls.append(len(messages))
        if len(calls) == 2:
            raise OSError("the process died here")
        return real(messages)

    monkeypatch.setattr(email, "env", replace(email.env, inbound=inbound_that_dies_on_the_second_batch))
    with pytest.raises(OSError):
        wb.sync_mail(batch=2)
    assert sum(1 for t in _emails(wb) if t.startswith("Question 1")) == 2
    monkeypatch.setattr(email, "env", replace(email.env, inbound=real))
    rest = email.sync(batch=2)
    assert rest.fetched == 3 and rest.written == 3  # the two recorded before the crash are not read again
    assert sum(1 for t in _emails(wb) if t.startswith("Question 1")) == 5


def test_the_triage_workflow_starts_with_the_sync_of_a_real_imap_inbox(demo_ws: Path, dovecot) -> None:  # noqa: ANN001
    from aios_kernel import Workbench
    from benchmarks._fast import make_fast

    root = make_fast(demo_ws)  # template drafts: this is about what the sync brings in, not the prose
    email_settings(root, None, extra="\n" + dovecot.settings(sent=False))
    with Workbench.open(root) as w:
        w.secrets.set("imap", IMAP_PASSWORD)
        _deliver(dovecot, 3)
        run = w.run("inbox_triage", {})
        sync = run.outputs()["sync"]
        assert sync["fetched"] == 3 and sync["written"] == 3 and sync["mailbox"].startswith("imap://maja@127.0.0.1")
        subjects = {e["subject"] for e in run.outputs()["inbox"]["emails"]}
        assert {"Question 0", "Question 1", "Question 2"} <= subjects
        _deliver(dovecot, 2, start=3)
        second = w.run("inbox_triage", {})
        assert second.outputs()["sync"]["fetched"] == 2
        assert {e["subject"] for e in second.outputs()["inbox"]["emails"]} == {"Question 3", "Question 4"}


def test_a_wrong_imap_password_is_a_clear_error_that_names_the_fix(wb, dovecot) -> None:  # noqa: ANN001
    from aios_kernel import Workbench

    email_settings(wb.paths.root, None, extra="\n" + dovecot.settings(sent=False))
    root = wb.paths.root
    wb.close()
    with Workbench.open(root) as w:
        w.secrets.set("imap", "not-the-password")
        with pytest.raises(ConnectorError) as err:
            w.sync_mail()
        assert "not-the-password" not in str(err.value)
        assert "imap" in str(err.value).lower()


def test_aios_mail_sync_from_the_command_line(wb) -> None:  # noqa: ANN001
    from tests.test_cli import aios

    root = wb.paths.root
    wb.close()
    _drop(root, "1.a", _message(1))
    first = aios("mail", "sync", "-w", str(root))
    assert first.returncode == 0, first.stderr
    assert "1 new message(s)" in first.stdout and "1 recorded" in first.stdout
    assert "0 new message(s)" in aios("mail", "sync", "-w", str(root)).stdout
    wrong = aios("mail", "sync", "-w", str(root), "--connector", "nosuch")
    assert wrong.returncode == 1 and "nosuch" in wrong.stderr and "Traceback" not in wrong.stderr


def _bounce(original_id: str, to: str) -> bytes:
    """A delivery status notification (RFC 3464) as a mail server sends one back."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        "To: maja@studio-maja.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0100\r\nMessage-ID: <dsn1@mx.example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: maja@studio-maja.example\r\nTo: {to}\r\nSubject: Re: kiln slots\r\nMessage-ID: {original_id}\r\n\r\n"
        "--B--\r\n").encode()


def test_a_bounce_becomes_a_signed_fact_about_the_message_it_reports_on(wb) -> None:  # noqa: ANN001
    ws = wb.paths.root
    _drop(ws, "b.1", _bounce("<aios.k1@studio-maja.example>", "gone@example.org"))
    assert wb.sync_mail().written == 1
    email = next(a for a in wb.records("artifacts") if a["title"] == "Undelivered Mail Returned to Sender")
    report = email["meta"]["delivery"]
    assert report["fact"] == "bounced" and report["message_id"] == "<aios.k1@studio-maja.example>"
    assert report["recipients"][0] == {"recipient": "gone@example.org", "fact": "bounced", "status": "5.1.1",
                                       "diagnostic": "550 5.1.1 no such user"}
    facts = wb.memory.recall("did the e-mail to gone@example.org bounce", k=5, kind="assertion")
    assert facts and "bounced" in facts[0].text and "5.1.1" in facts[0].text
    assert wb.verify().ok


def test_attachments_are_stored_by_hash_and_an_oversized_one_is_listed_not_stored(wb) -> None:  # noqa: ANN001
    from dataclasses import replace as with_

    from aios_kernel._limits import LIMITS

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "anna@example.org", "maja@studio-maja.example", "Drawings attached"
    msg["Message-ID"], msg["Date"] = "<att1@example.org>", "Mon, 23 Nov 2026 09:00:00 +0100"
    msg.set_content("Hello Maja,\n\nthe drawings and the photo are attached.\n")
    drawing = b"%PDF-1.7\n" + bytes(range(256)) * 400
    msg.add_attachment(drawing, maintype="application", subtype="pdf", filename="../../etc/showroom\u202egpj.pdf")
    msg.add_attachment(b"\xff\xd8" + b"\x00" * 3000, maintype="image", subtype="jpeg", filename="photo.jpg")
    email_connector = wb.connectors.get("email")
    small = with_(LIMITS, max_attachment_bytes=2000)  # the photo is over this limit; the drawing is too

    _drop(wb.paths.root, "a.1", bytes(msg))
    assert wb.sync_mail().written == 1
    art = next(a for a in wb.records("artifacts") if a["title"] == "Drawings attached")
    listed = {a["name"]: a for a in art["meta"]["attachments"]}
    assert set(listed) == {"showroomgpj.pdf", "photo.jpg"}  # no folders, no right-to-left override
    pdf = listed["showroomgpj.pdf"]
    assert pdf["stored"] and pdf["bytes"] == len(drawing) and wb.attachments.read(pdf["sha256"]) == drawing
    assert (wb.attachments.path(pdf["sha256"]).stat().st_mode & 0o777) == 0o600

    from aios_kernel._entities._sources import parse_email

    parsed = parse_email(bytes(msg), "a.1", Path("a.1"), small)
    assert [a.stored for a in parsed.attachments] == [False, False] and "limit of 2,000" in parsed.attachments[0].note
    assert email_connector is not None

    # an attachment changed on disk after it was received is reported by verify
    wb.attachments.path(pdf["sha256"]).write_bytes(b"%PDF-1.7 forged")
    report = wb.verify()
    assert not report.ok and any("changed after it was received" in p for p in report.problems)
