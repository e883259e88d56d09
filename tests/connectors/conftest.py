"""Real SMTP servers on 127.0.0.1 (aiosmtpd), and workspaces whose e-mail connector points at them.

:class:`Smtp` keeps every message it accepted, counted by Message-ID. Its
``mode`` provokes the faults a mail server produces: ``"drop"`` keeps the
message and closes the connection before answering DATA (the client cannot
know it was sent), ``"drop-before-data"`` closes it at RCPT (clearly not
sent), ``"tempfail"`` answers 451 to the message, ``"refuse"`` 421 at the
greeting, ``"reject"`` 550 to a recipient. These are the server's own
behaviours, driven by its handler; nothing of the client is replaced.
"""

from __future__ import annotations

import email
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.orchestrator.conftest import make_fast  # noqa: F401  (workspace helpers)

USER, PASSWORD = "maja", "s3cret-Sm7p-pass!"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smtp:
    """One aiosmtpd server in this process; ``messages`` is what it accepted."""

    def __init__(self, *, auth: bool = False) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[email.message.Message] = []
        self.mode = "accept"
        self.failures_left = 0
        self.sessions = 0
        self.lock = threading.Lock()
        server = self

        class Handler:
            async def handle_EHLO(self, smtp: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> list[str]:
                with server.lock:
                    server.sessions += 1
                session.host_name = hostname
                return responses

            async def handle_RCPT(self, smtp: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
                if server.mode == "reject":
                    return "550 5.1.1 no such user here"
                if server.mode == "drop-before-data" and server._fail():
                    smtp.transport.close()
                    return "250 OK"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
                if server.mode == "tempfail" and server._fail():
                    return "451 4.3.0 try again later"
                msg = email.message_from_bytes(envelope.content)
                with server.lock:
                    server.messages.append(msg)
                if server.mode == "drop" and server._fail():
                    smtp.transport.close()  # taken, but the client never hears so
                return "250 2.0.0 queued"

        def authenticator(smtp: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            ok = getattr(auth_data, "login", b"") == USER.encode() and getattr(auth_data, "password", b"") == PASSWORD.encode()
            return AuthResult(success=ok, handled=False)  # let the server answer 535 itself on failure

        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if auth:
            kwargs = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def _fail(self) -> bool:
        with self.lock:
            if self.failures_left <= 0:
                return False
            self.failures_left -= 1
            return True

    def provoke(self, mode: str, times: int = 1) -> None:
        self.mode, self.failures_left = mode, times

    def per_message_id(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    yield server
    server.stop()


@pytest.fixture
def smtp_auth() -> Iterator[Smtp]:
    server = Smtp(auth=True)
    yield server
    server.stop()


def email_settings(root: Path, server: Smtp | None, *, auth: bool = False, extra: str = "") -> None:
    """Point the workspace's ``[connectors.email]`` at ``server`` (or the local Maildir when None)."""
    cfg = root / "aios.toml"
    text = cfg.read_text()
    head, sep, tail = text.partition("[connectors.email]\n")
    assert sep, "the workspace's aios.toml has no [connectors.email] table"
    lines = ["[connectors.email]", 'kind = "email"', "breaker_failures = 3", "breaker_cooldown_s = 0.5", "timeout_s = 5"]
    if server is not None:
        lines += ['smtp_host = "127.0.0.1"', f"smtp_port = {server.port}", 'smtp_security = "none"']
    if auth:
        lines += [f'username = "{USER}"', 'password = "secret:smtp"']
    rest = tail.split("\n[", 1)
    cfg.write_text(head + "\n".join(lines) + extra + "\n" + (("\n[" + rest[1]) if len(rest) > 1 else ""))


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Radicale CalDAV server on 127.0.0.1 for the tests of one module (each test makes its own calendar)."""
    from tests.connectors.radicale import Radicale

    server = Radicale(tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


@pytest.fixture
def dovecot() -> Iterator[Any]:
    import shutil
    import tempfile

    from tests.connectors.dovecot import Dovecot

    # Dovecot's own users must traverse every folder above its files: a fresh folder in /tmp, not pytest's 0700 one
    base = Path(tempfile.mkdtemp(prefix="aios-dovecot-"))
    base.chmod(0o755)
    server = Dovecot(base / "server")
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)
