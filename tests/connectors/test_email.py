"""The e-mail connector against a real SMTP server on 127.0.0.1: once per key, ambiguity told apart from failure."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aios_kernel import ConnectorError, OutcomeUnknown, ValidationError
from aios_kernel._connectors import Unknown
from tests.connectors.conftest import Smtp, email_settings

MAIL = {"to": ["anna@example.org"], "subject": "Re: October figures",
        "body": "Hi Anna,\n\n" + "The figures are attached, line by line.\n" * 60 + "\nMaja",  # well past 1,000 bytes
        "in_reply_to": "<abc@example.org>", "references": ["<root@example.org>"]}


def _open(ws: Path):  # noqa: ANN202
    from aios_kernel import Workbench

    return Workbench.open(ws)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    from aios_kernel import Workbench

    Workbench.init(tmp_path / "ws").close()
    return tmp_path / "ws"


def test_a_message_goes_out_once_with_threading_headers_and_a_sent_copy(ws: Path, smtp: Smtp) -> None:
    email_settings(ws, smtp)
    with _open(ws) as wb:
        first = wb.connectors.call("email", "run-1/reply:e1/send", "send_email", MAIL)
        again = wb.connectors.call("email", "run-1/reply:e1/send", "send_email", MAIL)
        assert again["already_applied"] and again["message_id"] == first["message_id"]
        assert wb.connectors.was_applied("email", "run-1/reply:e1/send")["message_id"] == first["message_id"]
        assert wb.connectors.was_applied("email", "run-1/reply:e2/send") is None
    assert smtp.per_message_id() == {first["message_id"]: 1}
    msg = smtp.messages[0]
    assert msg["In-Reply-To"] == "<abc@example.org>" and msg["References"] == "<root@example.org> <abc@example.org>"
    assert msg["From"] == "aios@localhost"  # an empty workspace has no [workspace] email yet
    assert Path(first["sent_copy"]).read_bytes().count(first["message_id"].encode()) == 1
    assert first["sent_copy"].startswith(str(ws / "mail" / ".Sent"))


def test_without_a_server_mail_is_delivered_into_the_local_maildir(ws: Path) -> None:
    with _open(ws) as wb:
        receipt = wb.connectors.call("email", "k-local", "send_email", MAIL)
        assert receipt["delivered"] == "locally" and Path(receipt["path"]).exists()
        assert wb.connectors.was_applied("email", "k-local")["message_id"] == receipt["message_id"]
        assert "nothing leaves this machine" in wb.connectors.get("email").describe()


@pytest.mark.parametrize("payload, field", [
    ({**MAIL, "to": ["not an address"]}, "to"),
    ({**MAIL, "subject": ""}, "subject"),
    ({k: v for k, v in MAIL.items() if k != "body"}, "body"),
    ({**MAIL, "to": 42}, "to"),
], ids=["bad-address", "empty-subject", "no-body", "number-as-address"])
def test_a_bad_payload_is_refused_before_anything_is_sent(ws: Path, smtp: Smtp, payload: dict, field: str) -> None:
    email_settings(ws, smtp)
    with _open(ws) as wb, pytest.raises(ValidationError) as err:
        wb.connectors.call("email", "k-bad", "send_email", payload)
    assert err.value.field == field
    assert smtp.messages == [] and smtp.sessions == 0


def test_an_internationalised_address_is_accepted(ws: Path) -> None:
    with _open(ws) as wb:
        receipt = wb.connectors.call("email", "k-idn", "send_email", {**MAIL, "to": ["jürgen@müller.example"]})
        assert receipt["to"] == ["jürgen@müller.example"]


def test_a_connection_dropped_after_data_is_unknown_never_retried_on_its_own(ws: Path, smtp: Smtp) -> None:
    email_settings(ws, smtp)
    smtp.provoke("drop")
    with _open(ws) as wb:
        with pytest.raises(OutcomeUnknown) as err:
            wb.connectors.call("email", "k-drop", "send_email", MAIL)
        assert "Message-ID" in err.value.hint
        # the server kept it, and nothing can tell: the connector says so instead of sending again
        answer = wb.connectors.was_applied("email", "k-drop")
        assert isinstance(answer, Unknown)
        with pytest.raises(OutcomeUnknown):
            wb.connectors.call("email", "k-drop", "send_email", MAIL)
    assert sum(smtp.per_message_id().values()) == 1


def test_a_connection_dropped_before_data_is_a_clear_failure_and_is_sent_later(ws: Path, smtp: Smtp) -> None:
    email_settings(ws, smtp)
    smtp.provoke("drop-before-data")
    with _open(ws) as wb:
        with pytest.raises(ConnectorError) as err:
            wb.connectors.call("email", "k-early", "send_email", MAIL)
        assert err.value.transient and not isinstance(err.value, OutcomeUnknown)
        assert wb.connectors.was_applied("email", "k-early") is None
        receipt = wb.connectors.call("email", "k-early", "send_email", MAIL)
    assert smtp.per_message_id() == {receipt["message_id"]: 1}


def test_a_451_to_the_message_is_retried_and_a_550_is_not(ws: Path, smtp: Smtp) -> None:
    email_settings(ws, smtp)
    smtp.provoke("tempfail")
    with _open(ws) as wb:
        with pytest.raises(ConnectorError) as temp:
            wb.connectors.call("email", "k-451", "send_email", MAIL)
        assert temp.value.transient and "451" in str(temp.value)
        wb.connectors.call("email", "k-451", "send_email", MAIL)
        smtp.provoke("reject", times=1)
        with pytest.raises(ConnectorError) as perm:
            wb.connectors.call("email", "k-550", "send_email", MAIL)
        assert not perm.value.transient and "550" in str(perm.value)
    assert len(smtp.messages) == 1


def test_repeated_failures_open_the_breaker_which_probes_after_its_cooldown(ws: Path, smtp: Smtp) -> None:
    email_settings(ws, smtp)  # breaker_failures = 3, breaker_cooldown_s = 0.5
    smtp.provoke("drop-before-data", times=3)
    with _open(ws) as wb:
        for n in range(3):
            with pytest.raises(ConnectorError):
                wb.connectors.call("email", f"k-b{n}", "send_email", MAIL)
        status = {r["connector"]: r for r in wb.connectors.status()}["email"]
        assert status["state"] == "open" and status["failures"] == 3 and "dropped" in status["last_error"]
        with pytest.raises(ConnectorError) as paused:
            wb.connectors.call("email", "k-b3", "send_email", MAIL)
        assert "paused" in str(paused.value) and 0 < paused.value.retry_after <= 0.5
        assert smtp.messages == []
        time.sleep(0.6)
        wb.connectors.call("email", "k-b3", "send_email", MAIL)  # the probe succeeds: closed again
        assert {r["connector"]: r for r in wb.connectors.status()}["email"]["state"] == "closed"
    # the breaker lives in the store: another process (here, another workbench) saw it too
    with _open(ws) as wb:
        assert wb.connectors.frame().filter(wb.connectors.frame()["connector"] == "email")["state"][0] == "closed"


def test_the_rate_limit_is_shared_and_says_when_to_come_back(ws: Path, smtp: Smtp) -> None:
    email_settings(ws, smtp, extra="\nrate_per_minute = 60\nburst = 2")
    with _open(ws) as wb, _open(ws) as other:
        wb.connectors.call("email", "k-r1", "send_email", MAIL)
        other.connectors.call("email", "k-r2", "send_email", MAIL)
        with pytest.raises(ConnectorError) as limited:
            wb.connectors.call("email", "k-r3", "send_email", MAIL)
        assert limited.value.transient and 0 < limited.value.retry_after <= 1.0
    assert len(smtp.messages) == 2


def test_a_refused_login_is_not_retried_and_never_shows_the_password(ws: Path, smtp_auth: Smtp) -> None:
    from tests.connectors.conftest import PASSWORD

    email_settings(ws, smtp_auth, auth=True)
    with _open(ws) as wb:
        wb.secrets.set("smtp", "wrong-" + PASSWORD)
        with pytest.raises(ConnectorError) as err:
            wb.connectors.call("email", "k-auth", "send_email", MAIL)
        assert not err.value.transient and "refused the login" in str(err.value)
        assert PASSWORD not in str(err.value) and "wrong-" not in str(err.value)
        wb.secrets.set("smtp", PASSWORD)
        wb.connectors.close()  # reopened with the new secret
        wb.connectors.call("email", "k-auth", "send_email", MAIL)
    assert len(smtp_auth.messages) == 1


def test_a_dry_run_previews_the_message_and_sends_nothing(ws: Path, smtp: Smtp) -> None:
    email_settings(ws, smtp)
    with _open(ws) as wb:
        preview = wb.connectors.preview("email", "send_email", MAIL)
    assert preview["headers"]["Subject"] == MAIL["subject"] and preview["bytes"] > 0
    assert smtp.messages == []
