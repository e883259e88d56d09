"""E-mail attachments: files of the workspace only, checked before an intent exists, the same bytes every attempt."""

from __future__ import annotations

import email
import hashlib
import os
from pathlib import Path

import pytest

from aios_kernel import ConnectorError, ValidationError
from tests.connectors.conftest import Smtp, email_settings

MAIL = {"to": ["anna@example.org"], "subject": "Invoice LA-2026-033", "body": "Hi Anna,\n\nattached.\n\nMaja"}
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    from aios_kernel import Workbench

    Workbench.init(tmp_path / "ws").close()
    (tmp_path / "ws" / "invoices").mkdir()
    (tmp_path / "ws" / "invoices" / "LA-2026-033.pdf").write_bytes(PDF)
    return tmp_path / "ws"


def _send(wb, key: str, attachments: list) -> dict:  # noqa: ANN001
    return wb.orchestrator.outbox.execute(key=key, connector="email", action="send_email",
                                          payload={**MAIL, "attachments": attachments}, run_id="run_att",
                                          task_id="task_att", step="send")


def test_the_attachment_goes_out_once_with_exactly_the_approved_bytes(ws: Path, smtp: Smtp) -> None:
    from aios_kernel import Workbench

    email_settings(ws, smtp)
    digest = hashlib.sha256(PDF).hexdigest()
    with Workbench.open(ws) as wb:
        first = _send(wb, "k-att", [{"path": "invoices/LA-2026-033.pdf", "sha256": digest}])
        again = wb.connectors.call("email", "k-att", "send_email",
                                   {**MAIL, "attachments": [{"path": "invoices/LA-2026-033.pdf", "sha256": digest}]})
        assert again["already_applied"] and again["message_id"] == first["message_id"]
    assert smtp.per_message_id() == {first["message_id"]: 1}
    parts = [p for p in smtp.messages[0].walk() if p.get_filename()]
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [("LA-2026-033.pdf", "application/pdf")]
    assert parts[0].get_payload(decode=True) == PDF
    sent = email.message_from_bytes(Path(first["sent_copy"]).read_bytes())
    assert [p.get_payload(decode=True) for p in sent.walk() if p.get_filename()] == [PDF]


def test_changed_bytes_are_never_sent_in_place_of_the_approved_ones(ws: Path) -> None:
    from aios_kernel import Workbench

    digest = hashlib.sha256(PDF).hexdigest()
    (ws / "invoices" / "LA-2026-033.pdf").write_bytes(PDF + b"tampered")
    with Workbench.open(ws) as wb:
        with pytest.raises(ConnectorError, match="changed since the message was approved") as err:
            _send(wb, "k-changed", [{"path": "invoices/LA-2026-033.pdf", "sha256": digest}])
        assert not err.value.transient
        assert wb.orchestrator.outbox.get("k-changed")["status"] == "failed"
    assert not (ws / "mail" / ".Sent" / "cur").exists() or not any((ws / "mail" / ".Sent" / "cur").iterdir())


def test_files_outside_the_workspace_missing_or_too_large_are_refused_before_any_intent(ws: Path, tmp_path: Path) -> None:
    from aios_kernel import Workbench

    secret = tmp_path / "elsewhere.txt"
    secret.write_text("not yours to send")
    os.symlink(secret, ws / "invoices" / "link.pdf")
    big = ws / "invoices" / "huge.pdf"
    with open(big, "wb") as f:
        f.truncate(21 * 1024 * 1024)  # sparse: 21 MB on paper
    cases = [(["../elsewhere.txt"], "outside the workspace"), ([str(secret)], "outside the workspace"),
             (["invoices/link.pdf"], "outside the workspace"), (["invoices/LA-2026-099.pdf"], "does not exist"),
             (["invoices"], "not a regular file"), (["invoices/huge.pdf"], "limit of 20 MB"),
             ([{"path": "invoices/LA-2026-033.pdf", "sha256": "abc"}], "64 hex digits"), ("invoices/x.pdf", "must be a list")]
    with Workbench.open(ws) as wb:
        for n, (attachments, why) in enumerate(cases):
            with pytest.raises(ValidationError, match=why) as err:
                _send(wb, f"k-bad-{n}", attachments)
            assert err.value.field == "attachments"
        assert wb.orchestrator.outbox.effects() == []  # not even an intent was recorded
    assert not (ws / "mail").exists() or not list((ws / "mail").rglob("*aios*"))
