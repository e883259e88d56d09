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


# -- bad input and bounded batches ----------------------------------------------------------------


def _attached(i: int, size: int = 3000) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"anna{i}@example.org", "maja@studio-maja.example", f"Drawings {i}"
    msg["Message-ID"], msg["Date"] = f"<att-{i}@example.org>", "Mon, 23 Nov 2026 09:00:00 +0100"
    msg.set_content(f"Hello Maja,\n\nthe drawings for item {i} are attached.\n")
    msg.add_attachment(b"%PDF-1.7\n" + bytes(range(256)) * (size // 256), maintype="application", subtype="pdf",
                       filename=f"d{i}.pdf")
    return bytes(msg)


def _deliver_raw(dovecot, name: str, raw: bytes) -> None:  # noqa: ANN001
    """One message, as given, in the Dovecot user's INBOX (a file in Maildir/new owned by the server's user)."""
    import os
    import pwd

    dove = pwd.getpwnam("dovecot")
    for folder in (dovecot.maildir, *(dovecot.maildir / s for s in ("new", "cur", "tmp"))):
        folder.mkdir(exist_ok=True)
        os.chown(folder, dove.pw_uid, dove.pw_gid)
    path = dovecot.maildir / "new" / name
    path.write_bytes(raw)
    os.chown(path, dove.pw_uid, dove.pw_gid)


def _imap_workbench(wb, dovecot):  # noqa: ANN001, ANN202
    """The workspace of ``wb``, reopened with its e-mail connector reading the Dovecot INBOX."""
    from aios_kernel import Workbench

    root = wb.paths.root
    email_settings(root, None, extra="\n" + dovecot.settings(sent=False))
    wb.close()
    w = Workbench.open(root)
    w.secrets.set("imap", IMAP_PASSWORD)
    return w


def test_a_message_still_being_delivered_into_tmp_is_not_read(wb) -> None:  # noqa: ANN001
    ws = wb.paths.root
    _drop(ws, "1.a", _message(1))
    tmp = ws / "mail" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    whole = _message(2, subject="Arrives in a moment")
    (tmp / "2.b").write_bytes(whole[: len(whole) // 2])  # a delivery agent is still writing it

    first = wb.sync_mail()
    assert (first.fetched, first.written, first.rejected) == (1, 1, []), str(first)
    assert "Arrives in a moment" not in _emails(wb)
    (tmp / "2.b").write_bytes(whole)
    (tmp / "2.b").rename(ws / "mail" / "new" / "2.b")  # delivered: moved into new/
    second = wb.sync_mail()
    assert (second.fetched, second.written) == (1, 1)
    assert "Arrives in a moment" in _emails(wb)


def test_truncated_and_garbage_messages_over_imap_are_refused_and_the_rest_is_recorded(wb, dovecot) -> None:  # noqa: ANN001
    whole = _attached(1)
    _deliver_raw(dovecot, "1.ok", _message(21))
    _deliver_raw(dovecot, "2.cut", whole[: len(whole) * 2 // 3])  # the connection dropped halfway through a delivery
    _deliver_raw(dovecot, "3.junk", b"\x00\xff\xfe garbage without headers \x00" * 40)
    _deliver_raw(dovecot, "4.ok", _message(22, subject="After the broken ones"))
    with _imap_workbench(wb, dovecot) as w:
        report = w.sync_mail()
        assert (report.fetched, report.written, len(report.rejected)) == (4, 2, 2), str(report)
        assert {"Question 21 about the showroom drawings", "After the broken ones"} <= set(_emails(w))
        refused = [r for r in w.records("ingest_rejections") if r["source_path"].startswith("imap://maja@127.0.0.1")]
        assert len(refused) == 2 and any("CloseBoundaryNotFound" in r["error"] for r in refused)
        assert all("UID=" in r["source_path"] for r in refused)  # which message, so it can be found in the mailbox
        assert w.sync_mail().fetched == 0  # refused once, not fetched again


def test_a_maildir_message_over_the_size_limit_is_listed_never_read(wb, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from aios_kernel._connectors import _inbox

    monkeypatch.setattr(_inbox, "MAX_BYTES", 8000)
    ws = wb.paths.root
    _drop(ws, "1.big", _attached(1, size=20_000))
    _drop(ws, "2.ok", _message(2))
    read: list[int] = []
    real_open = open

    class Counting:
        def __init__(self, f) -> None:  # noqa: ANN001
            self.f = f

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

        def fileno(self) -> int:
            return self.f.fileno()

        def read(self, n: int = -1) -> bytes:
            data = self.f.read(n)
            read.append(len(data))
            return data

    monkeypatch.setattr(_inbox, "open", lambda path, mode="r": Counting(real_open(path, mode)), raising=False)
    report = wb.sync_mail()
    assert (report.fetched, report.written) == (1, 1), str(report)
    assert len(report.skipped) == 1 and "larger than 8000" in report.skipped[0].reason and "1.big" in report.skipped[0].source
    assert max(read) <= 8001  # the large file was never read whole
    assert wb.sync_mail().skipped == []  # listed once


def test_an_imap_message_over_the_size_limit_is_never_fetched(wb, dovecot, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import imaplib

    from aios_kernel._connectors import _inbox

    monkeypatch.setattr(_inbox, "MAX_BYTES", 8000)
    _deliver_raw(dovecot, "1.ok", _message(31))
    _deliver_raw(dovecot, "2.big", _attached(2, size=20_000))
    _deliver_raw(dovecot, "3.ok", _message(32))
    fetched: list[str] = []
    real_uid = imaplib.IMAP4.uid

    def uid(self, command, *args):  # noqa: ANN001, ANN202
        if command == "FETCH" and "BODY" in str(args[-1]):
            fetched.append(args[0])
        return real_uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", uid)
    with _imap_workbench(wb, dovecot) as w:
        report = w.sync_mail()
        assert (report.fetched, report.written) == (2, 2), str(report)
        assert len(report.skipped) == 1 and "UID=2" in report.skipped[0].source
        assert all("2" not in uids.split(",") for uids in fetched)  # its body was never asked for
        again = w.sync_mail()
        assert (again.fetched, again.skipped) == (0, [])


@pytest.mark.parametrize("source", ["maildir", "imap"])
def test_a_batch_is_bounded_by_bytes_as_well_as_by_count(wb, source: str, request: pytest.FixtureRequest,  # noqa: ANN001
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from aios_kernel._connectors import _inbox

    # CRLF, as IMAP counts a message's size: the budget means the same bytes for both sources
    messages = [_attached(40 + i, size=4000).replace(b"\n", b"\r\n") for i in range(7)]
    budget = 2 * len(messages[0]) + 100  # two of these messages fit, a third does not
    monkeypatch.setattr(_inbox, "BATCH_BYTES", budget)
    if source == "imap":
        dovecot = request.getfixturevalue("dovecot")
        for i, raw in enumerate(messages):
            _deliver_raw(dovecot, f"{i}.m", raw)
        w = _imap_workbench(wb, dovecot)
    else:
        for i, raw in enumerate(messages):
            _drop(wb.paths.root, f"{i}.m", raw)
        w = wb
    email = w.connectors.get("email")
    real, sizes = email.env.inbound, []

    def inbound(batch):  # noqa: ANN001, ANN202
        sizes.append([len(raw) for _, raw in batch])
        return real(batch)

    monkeypatch.setattr(email, "env", replace(email.env, inbound=inbound))
    try:
        report = email.sync(batch=100)
        assert (report.fetched, report.written) == (7, 7), str(report)
        assert [len(s) for s in sizes] == [2, 2, 2, 1] and all(sum(s) <= budget for s in sizes)
        assert email.sync().fetched == 0  # each batch's progress was recorded
    finally:
        if w is not wb:
            w.close()
