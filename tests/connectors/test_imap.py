"""IMAP against a real Dovecot on 127.0.0.1: the Sent copy by APPEND, and inbound mail read incrementally."""

from __future__ import annotations

import os
import pwd
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from aios_kernel import StateError
from tests.connectors.conftest import Smtp, email_settings
from tests.connectors.dovecot import PASSWORD as IMAP_PASSWORD
from tests.connectors.dovecot import USER as IMAP_USER

MAIL = {"to": ["anna@example.org"], "subject": "Re: scope", "body": "Hi Anna,\n\nAgreed.\n\nMaja"}


def _deliver(dovecot, n: int, start: int = 0, size: int = 0) -> None:  # noqa: ANN001
    """Put ``n`` messages into the user's INBOX as a mail server delivers them (files in Maildir/new)."""
    dove = pwd.getpwnam("dovecot")
    new = dovecot.maildir / "new"
    for folder in (dovecot.maildir, *(dovecot.maildir / s for s in ("new", "cur", "tmp"))):
        folder.mkdir(exist_ok=True)
        os.chown(folder, dove.pw_uid, dove.pw_gid)
    for i in range(start, start + n):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = f"client{i}@example.org", "maja@example.org", f"Question {i}"
        msg["Message-ID"], msg["Date"] = f"<m{i}@example.org>", "Mon, 16 Nov 2026 09:00:00 +0100"
        msg.set_content(f"Hello,\n\ncould you look at item {i}?\n" + "x" * size)
        path = new / f"{time.time_ns()}.{i}.test"
        path.write_bytes(bytes(msg))
        os.chown(path, dove.pw_uid, dove.pw_gid)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    from aios_kernel import Workbench

    Workbench.init(tmp_path / "ws").close()
    return tmp_path / "ws"


def test_the_sent_copy_goes_to_the_imap_sent_folder_and_is_found_there_after_a_crash(ws: Path, smtp: Smtp, dovecot) -> None:  # noqa: ANN001
    from aios_kernel import Workbench

    email_settings(ws, smtp, extra="\n" + dovecot.settings())
    with Workbench.open(ws) as wb:
        wb.secrets.set("imap", IMAP_PASSWORD)
        receipt = wb.connectors.call("email", "k-imap", "send_email", MAIL)
        assert receipt["sent_copy"].startswith("imap 127.0.0.1/Sent")
        # what survives a crash is the server's copy: forget our own marks and ask again
        wb.connectors.get("email").env.journal.forget("k-imap")
        found = wb.connectors.was_applied("email", "k-imap")
        assert found["message_id"] == receipt["message_id"] and "uid" in found["sent_copy"]
        again = wb.connectors.call("email", "k-imap", "send_email", MAIL)
        assert again["already_applied"]
    sent = list((dovecot.maildir / ".Sent" / "cur").iterdir()) + list((dovecot.maildir / ".Sent" / "new").iterdir())
    assert len(sent) == 1 and receipt["message_id"].encode() in sent[0].read_bytes()
    assert len(smtp.messages) == 1


def test_inbound_mail_is_read_incrementally_and_again_after_a_uidvalidity_change(ws: Path, dovecot) -> None:  # noqa: ANN001
    from aios_kernel import Workbench
    from aios_kernel._connectors._inbox import ImapInbox, SyncState

    with Workbench.open(ws) as wb:
        wb.secrets.set("imap", IMAP_PASSWORD)
        inbox = ImapInbox("127.0.0.1", dovecot.port, "none", IMAP_USER, wb.secrets.get("imap"))
        state = SyncState(wb.store, inbox.mailbox)

        def read() -> list[str]:
            return [m.raw.split(b"Message-ID: ")[1].split(b"\n")[0].decode().strip() for batch in inbox.batches(state, [], batch=2)
                    for m in batch]

        _deliver(dovecot, 3)
        assert read() == ["<m0@example.org>", "<m1@example.org>", "<m2@example.org>"]
        assert read() == []
        _deliver(dovecot, 2, start=3)
        assert read() == ["<m3@example.org>", "<m4@example.org>"]
        subprocess.run(["doveadm", "-c", str(dovecot.tmp / "dovecot.conf"), "mailbox", "update", "-u", IMAP_USER,
                        "--uid-validity", "4242", "INBOX"], check=True, capture_output=True)
        assert len(read()) == 5  # renumbered by the server: read again from the start
        assert state.imap()[0] == 4242


def test_one_sync_of_a_mailbox_at_a_time(ws: Path) -> None:
    from aios_kernel import Workbench
    from aios_kernel._connectors._inbox import Lease

    with Workbench.open(ws) as wb, Lease(wb.store, "imap://x/INBOX", "worker-a"):
        with pytest.raises(StateError, match="already running"):
            with Lease(wb.store, "imap://x/INBOX", "worker-b"):
                pass
    with Workbench.open(ws) as wb, Lease(wb.store, "imap://x/INBOX", "worker-b"):
        pass  # released when the first ended
