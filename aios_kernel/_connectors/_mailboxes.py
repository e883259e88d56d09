"""Where a copy of sent mail goes, and where it is looked up: a local Maildir folder, or an IMAP folder.

Both answer the two questions the e-mail connector asks: *store* this
message, and *is a message with this Message-ID here?* (``was_applied``
after a crash). A Maildir folder files our own messages under a name that
carries a hash of the Message-ID, so the look-up is one directory listing,
not a parse of every message.
"""

from __future__ import annotations

import hashlib
import imaplib
import mailbox
import os
import socket
import ssl
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from .._errors import ConnectorError


def mid_hash(message_id: str) -> str:
    return hashlib.sha256(message_id.strip().encode()).hexdigest()[:24]


class MaildirFolder:
    """A Maildir folder (``cur``/``new``/``tmp``), created 0700 on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _ensure(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)

    def store(self, msg: EmailMessage) -> str:
        """File ``msg`` (as read: flag S) atomically: written in ``tmp``, fsynced, renamed into ``cur``."""
        self._ensure()
        name = f"{time.time():.6f}.{os.getpid()}.{mid_hash(str(msg['Message-ID']))}.aios:2,S"
        tmp, final = self.path / "tmp" / name, self.path / "cur" / name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, bytes(msg))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        return str(final)

    def find(self, message_id: str) -> str | None:
        """The file holding our message with ``message_id``, or None."""
        tag = f".{mid_hash(message_id)}.aios"
        for sub in ("cur", "new"):
            folder = self.path / sub
            if folder.is_dir():
                for entry in os.scandir(folder):
                    if tag in entry.name:
                        return entry.path
        return None

    def messages(self) -> mailbox.Maildir:
        self._ensure()
        return mailbox.Maildir(self.path, factory=None, create=False)

    def describe(self) -> str:
        return f"maildir {self.path}"


class ImapFolder:
    """An IMAP folder (``Sent`` by default) reached with one short connection per call."""

    def __init__(self, host: str, port: int, security: str, username: str, password: Any, folder: str = "Sent",
                 timeout_s: float = 30.0, connector: str = "email") -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.folder = username, password, folder
        self.timeout_s, self.connector = timeout_s, connector

    def _connect(self) -> imaplib.IMAP4:
        try:
            if self.security == "tls":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=ssl.create_default_context(),
                                                        timeout=self.timeout_s)
            else:
                conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout_s)
                if self.security == "starttls":
                    conn.starttls(ssl.create_default_context())
            if self.username:
                secret = self.password.reveal() if hasattr(self.password, "reveal") else str(self.password or "")
                conn.login(self.username, secret)
            return conn
        except imaplib.IMAP4.error as exc:
            raise ConnectorError(f"the IMAP server {self.host}:{self.port} refused the login of {self.username!r} "
                                 f"({_plain(exc)}); check [connectors.{self.connector}] imap_username and the secret",
                                 connector=self.connector) from None
        except (OSError, socket.timeout) as exc:
            raise ConnectorError(f"cannot reach the IMAP server {self.host}:{self.port}: {exc}", connector=self.connector,
                                 transient=True) from None

    def store(self, msg: EmailMessage) -> str:
        conn = self._connect()
        try:
            typ, data = conn.append(_quote(self.folder), r"(\Seen)", imaplib.Time2Internaldate(time.time()), bytes(msg))
            if typ != "OK":
                raise ConnectorError(f"the IMAP server did not file the copy in {self.folder!r}: {_plain(data)}",
                                     connector=self.connector, transient=True)
            return f"imap {self.host}/{self.folder}"
        finally:
            _logout(conn)

    def find(self, message_id: str) -> str | None:
        conn = self._connect()
        try:
            typ, _ = conn.select(_quote(self.folder), readonly=True)
            if typ != "OK":
                return None
            typ, data = conn.uid("SEARCH", "HEADER", "Message-ID", message_id.strip())
            uids = (data[0] or b"").split() if typ == "OK" and data else []
            return f"imap {self.host}/{self.folder} uid {uids[0].decode()}" if uids else None
        finally:
            _logout(conn)

    def describe(self) -> str:
        return f"imap {self.host}:{self.port}/{self.folder}"


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value if v)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:300]


def _logout(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        pass
