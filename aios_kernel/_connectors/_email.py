"""E-mail out: SMTP (STARTTLS, TLS or plain), or a local Maildir when no server is configured.

Exactly once, even when the connection or this process dies:

- The Message-ID derives from the idempotency key, so every attempt at one
  effect is the same message, and a copy in the Sent folder (a local Maildir,
  or IMAP ``APPEND``) can be found again by it.
- Before DATA the connector records (committed) that the hand-over starts; after
  the server's 250, that it was accepted. A failure before DATA (no
  connection, login refused, 4xx to MAIL/RCPT, 4xx to the message itself) is
  a clear failure: transient ones are retried. A connection that drops after
  DATA started is *ambiguous*: the server may have taken the message. That is
  never retried on its own: :class:`~aios_kernel.OutcomeUnknown`, and the
  operator is asked.
- After a crash, :meth:`EmailConnector.was_applied` answers from the Sent
  folder and those marks: a copy, or "accepted", means sent; "DATA started"
  alone means unknown; nothing means it never left, and the task sends it.

``[connectors.email]``: ``smtp_host``, ``smtp_port``, ``smtp_security``
(``none`` | ``starttls`` | ``tls``), ``username``, ``password``
(``"secret:NAME"``), ``sender`` (default: ``[workspace] email``), ``sent``
(``maildir`` | ``imap`` | ``none``), ``maildir`` (default ``mail``: the
workspace's local Maildir, Sent at ``mail/.Sent``), ``imap_host``,
``imap_port``, ``imap_security``, ``imap_username``, ``imap_password``,
``sent_folder``. With no ``smtp_host`` the message is delivered into the
local Maildir's Sent folder, and nothing leaves the machine.

Attachments (``attachments``: files of the workspace, by path relative to
it) are checked before the intent is recorded (inside the workspace, present,
a regular file, 20 MB in all) and read again at every attempt; an entry with
``sha256`` is sent only with exactly those bytes, so every attempt at one key
is the same message.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import formatdate, getaddresses
from pathlib import Path
from typing import Any, ClassVar

from .._errors import ConnectorError, OutcomeUnknown
from ._actions import Action, Field, address
from ._base import Connector, ConnectorEnv, Learned, Unknown
from ._inbox import BATCH, ImapInbox, Lease, SyncReport, SyncState, maildir_batches
from ._mailboxes import ImapFolder, MaildirFolder

SEND = Action("send_email", (
    Field("to", "addresses", help="one address or a list"),
    Field("subject", "text", max_len=998),
    Field("body", "text", max_len=2_000_000),
    Field("cc", "addresses", required=False),
    Field("in_reply_to", "text", required=False, max_len=998),
    Field("references", "list", required=False),
    Field("from", "address", required=False),
    Field("attachments", "list", required=False,
          help="files of the workspace: a path relative to it, or {path, sha256} to insist on those exact bytes"),
), reversible=False, fact="sent")
"""A sent e-mail cannot be taken back; a step that sent one has nothing to compensate."""


MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
"""All attachments of one message together; most mail servers refuse more than about 25 MB of encoded mail."""


def attachments(root: Path, value: Any) -> list[tuple[Path, str, str | None]]:
    """``(file, name, sha256 or None)`` for each attachment of a payload, checked: a file inside the workspace
    (symbolic links resolved), that exists, is a regular file, and all of them under the size limit;
    a ValidationError naming ``attachments`` and the fix otherwise."""
    from .._errors import ValidationError

    def bad(why: str) -> ValidationError:
        return ValidationError(f"send_email: attachments: {why}", field="attachments")

    if value in (None, "", []):
        return []
    if not isinstance(value, list):
        raise bad("must be a list of files (paths relative to the workspace)")
    base = Path(root).resolve()
    out, total = [], 0
    for n, item in enumerate(value):
        spec = item if isinstance(item, dict) else {"path": item}
        raw = spec.get("path")
        if not isinstance(raw, str) or not raw.strip() or "\x00" in raw:
            raise bad(f"item {n} needs a path (text), got {raw!r}")
        path = (base / raw).resolve() if not Path(raw).is_absolute() else Path(raw).resolve()
        if not path.is_relative_to(base):
            raise bad(f"{raw!r} is outside the workspace {base}; only files of the workspace are sent")
        if not path.exists():
            raise bad(f"{raw!r} does not exist in the workspace; issue or write it first")
        if not path.is_file():
            raise bad(f"{raw!r} is not a regular file")
        total += path.stat().st_size
        if total > MAX_ATTACHMENT_BYTES:
            raise bad(f"together they pass the limit of {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB at {raw!r}; send a link instead")
        digest = spec.get("sha256")
        if digest is not None and not (isinstance(digest, str) and len(digest) == 64):
            raise bad(f"item {n}: sha256 must be 64 hex digits")
        out.append((path, str(spec.get("name") or path.name), digest))
    return out


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the effect ``key``: the same for every attempt, unique per key."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.aios@{domain or 'localhost'}>"


class EmailConnector(Connector):
    """Sends e-mail by SMTP (or into a local Maildir) and keeps a copy in Sent; see the module docstring."""

    kind = "email"
    actions: ClassVar[dict[str, Action]] = {"send_email": SEND}

    def __init__(self, name: str, settings: dict[str, Any], env: ConnectorEnv) -> None:
        super().__init__(name, settings)
        self.env = env
        self.host = str(settings.get("smtp_host") or "")
        self.security = str(settings.get("smtp_security") or ("starttls" if self.host else "none"))
        default_port = {"tls": 465, "starttls": 587}.get(self.security, 25)
        self.port = int(settings.get("smtp_port") or default_port)
        self.username = str(settings.get("username") or "")
        self.password = env.secrets.resolve(settings.get("password") or "", key=f"connectors.{name}.password") \
            if settings.get("password") else None
        sender = str(settings.get("sender") or env.config.get("workspace.email") or "")
        self.sender = address(sender, field=f"connectors.{name}.sender") if sender else ""
        self.domain = self.sender.rsplit("@", 1)[-1] if self.sender else "localhost"
        self.local = MaildirFolder(env.paths.resolve(str(settings.get("maildir") or "mail")))
        self.sent = self._sent_folder(settings)

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], env: ConnectorEnv) -> EmailConnector:
        return cls(name, settings, env)

    def _sent_folder(self, settings: dict[str, Any]) -> Any:
        kind = str(settings.get("sent") or ("imap" if settings.get("imap_host") else "maildir"))
        if kind == "none":
            return None
        if kind == "imap":
            security = str(settings.get("imap_security") or "tls")
            port = int(settings.get("imap_port") or (993 if security == "tls" else 143))
            password = settings.get("imap_password") or settings.get("password") or ""
            return ImapFolder(str(settings.get("imap_host") or ""), port, security,
                              str(settings.get("imap_username") or self.username),
                              self.env.secrets.resolve(password, key=f"connectors.{self.name}.imap_password") if password else "",
                              str(settings.get("sent_folder") or "Sent"), self.timeout_s, self.name)
        return MaildirFolder(Path(self.local.path) / f".{settings.get('sent_folder') or 'Sent'}")

    # -- the message ----------------------------------------------------------------------------

    def message(self, key: str, payload: dict[str, Any]) -> EmailMessage:
        """The exact message every attempt at ``key`` sends."""
        msg = EmailMessage()
        msg["From"] = payload.get("from") or self.sender or f"aios@{self.domain}"
        msg["To"] = ", ".join(_listed(payload["to"]))
        if payload.get("cc"):
            msg["Cc"] = ", ".join(_listed(payload["cc"]))
        msg["Subject"] = payload["subject"]
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = message_id(key, self.domain)
        if payload.get("in_reply_to"):
            msg["In-Reply-To"] = payload["in_reply_to"]
            refs = [str(r) for r in payload.get("references") or []]
            msg["References"] = " ".join([*refs, payload["in_reply_to"]] if payload["in_reply_to"] not in refs else refs)
        msg["X-AIOS-Effect"] = hashlib.sha256(key.encode()).hexdigest()[:16]
        msg.set_content(payload["body"])
        for path, name, digest in attachments(self.env.paths.root, payload.get("attachments")):
            data = path.read_bytes()
            if digest is not None and hashlib.sha256(data).hexdigest() != digest:
                raise ConnectorError(f"the attachment {name} changed since the message was approved (its SHA-256 differs); "
                                     "it is not sent with other bytes than those approved: check the file, then approve a new "
                                     "message", connector=self.name)
            maintype, subtype = (mimetypes.guess_type(name)[0] or "application/octet-stream").split("/", 1)
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return msg

    def check(self, action: str, payload: dict[str, Any]) -> None:
        attachments(self.env.paths.root, payload.get("attachments"))

    def preview(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        msg = self.message("preview", payload)
        return {"connector": self.name, "kind": self.kind, "action": action, "would": f"send via {self.describe()}",
                "headers": {k: str(v) for k, v in msg.items() if k != "Message-ID"}, "bytes": len(bytes(msg)),
                "attachments": [part.get_filename() for part in msg.iter_attachments()]}

    def describe(self) -> str:
        if not self.host:
            return (f"no SMTP server set: delivered into {(self.sent or self.local).describe()} (nothing leaves this machine; "
                    "set [connectors.email] smtp_host to send)")
        return f"smtp {self.host}:{self.port} ({self.security})" + (f", copies in {self.sent.describe()}" if self.sent else "")

    # -- apply ----------------------------------------------------------------------------------

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        msg = self.message(key, payload)
        mid = str(msg["Message-ID"])
        earlier = self._earlier(key, mid)
        if isinstance(earlier, Unknown):
            raise OutcomeUnknown(earlier.reason, connector=self.name, hint=earlier.hint)
        if earlier is not None:
            return {**earlier, "already_applied": True}
        recipients = [a for _, a in getaddresses([msg["To"], msg.get("Cc", "")]) if a]
        if not self.host:
            where = (self.sent or self.local).store(msg)
            return {"message_id": mid, "to": recipients, "delivered": "locally", "path": where}
        response = self._smtp(key, msg, recipients)
        copy = self._copy(msg)
        return {"message_id": mid, "to": recipients, "server": f"{self.host}:{self.port}", "response": response,
                "sent_copy": copy}

    def _earlier(self, key: str, mid: str) -> dict[str, Any] | Unknown | None:
        found = self.sent.find(mid) if self.sent is not None else None
        if found:
            return {"message_id": mid, "sent_copy": found}
        stages = self.env.journal.stages(key)
        if "accepted" in stages:
            return {"message_id": mid, "accepted_at": stages["accepted"], "sent_copy": None}
        if "data" in stages:
            return Unknown(f"the connection to {self.host or 'the server'} was lost after the message {mid} was handed over "
                           f"({stages['data']}); the server may have sent it",
                           f"search the Sent folder or the recipient's inbox for Message-ID {mid}; then choose "
                           "'mark sent' if it arrived, 'resend' if it did not")
        return None

    def was_applied(self, key: str) -> dict[str, Any] | Unknown | None:
        return self._earlier(key, message_id(key, self.domain))

    # -- inbound --------------------------------------------------------------------------------

    def inbox(self) -> Any:
        """Where mail sync reads: the IMAP folder (``imap_host``), else the workspace's Maildir."""
        settings = self.settings
        if settings.get("imap_host"):
            security = str(settings.get("imap_security") or "tls")
            port = int(settings.get("imap_port") or (993 if security == "tls" else 143))
            password = settings.get("imap_password") or settings.get("password") or ""
            return ImapInbox(str(settings["imap_host"]), port, security, str(settings.get("imap_username") or self.username),
                             self.env.secrets.resolve(password, key=f"connectors.{self.name}.imap_password") if password else "",
                             str(settings.get("inbox_folder") or "INBOX"), self.timeout_s, self.name)
        return self.local

    def sync(self, *, limit: int | None = None, owner: str = "", batch: int = BATCH) -> SyncReport:
        """Read what is new in the inbox and hand it to the workspace (``env.inbound``), ``batch`` messages at a time
        (and at most ``BATCH_BYTES`` of them).

        Each batch is committed before the next is fetched: a sync that dies halfway goes on where it
        stopped, and what it had already recorded is not recorded twice. ``limit`` stops after about
        that many messages (whole batches); the rest waits for the next sync.
        """
        if self.env.inbound is None:
            raise ConnectorError(f"connector {self.name!r} has nowhere to put inbound mail (no workspace is attached)",
                                 connector=self.name)
        source = self.inbox()
        mailbox = source.mailbox if isinstance(source, ImapInbox) else f"maildir:{self.local.path}"
        state = SyncState(self.env.store, mailbox)
        report = SyncReport(mailbox)
        t0 = time.perf_counter()
        with Lease(self.env.store, mailbox, owner or f"{os.getpid()}:{id(self)}") as lease:
            batches = source.batches(state, report.skipped, batch=batch) if isinstance(source, ImapInbox) \
                else maildir_batches(Path(self.local.path), state, report.skipped, batch=batch)
            for messages in batches:
                if limit is not None and report.fetched >= limit:
                    break
                got = self.env.inbound([(m.source, m.raw) for m in messages])
                report.add(got, len(messages))
                if not isinstance(source, ImapInbox):
                    state.mark_seen([m.uid for m in messages])
                lease.renew()
        report.seconds = time.perf_counter() - t0
        return report

    def retract(self, key: str) -> None:
        self.env.journal.forget(key)

    def learned(self, action: str, payload: dict[str, Any], receipt: dict[str, Any]) -> Learned | None:
        if action != "send_email":
            return None
        to = [a for _, a in getaddresses([", ".join(payload["to"]) if isinstance(payload.get("to"), list)
                                          else str(payload.get("to") or "")]) if a]
        mid = str(receipt.get("message_id") or "")
        if receipt.get("confirmed_by"):
            how = f"sent, as {receipt['confirmed_by']} confirmed"
        elif receipt.get("server"):
            how = f"accepted by the SMTP server {receipt['server']}"
        elif receipt.get("delivered") == "locally":
            how = f"delivered into {receipt.get('path') or 'the local Maildir'}"
        else:
            how = f"sent (found in {receipt.get('sent_copy') or 'the Sent folder'})"
        subject = str(payload.get("subject") or "")[:300]
        return Learned("sent", f"E-mail \u201c{subject}\u201d to {', '.join(to)} was {how}" + (f"; Message-ID {mid}" if mid else ""),
                       {"message_id": mid, "to": to, "subject": subject})

    def _smtp(self, key: str, msg: EmailMessage, recipients: list[str]) -> str:
        where = f"{self.host}:{self.port}"
        try:
            if self.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectorError(f"cannot reach the SMTP server {where}: {_said(exc)}", connector=self.name,
                                 transient=True) from None
        try:
            try:
                smtp.ehlo()
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    secret = self.password.reveal() if self.password is not None else ""
                    smtp.login(self.username, secret, initial_response_ok=False)  # some servers wait for a prompt
                sender = str(msg["From"]).split("<")[-1].rstrip(">").strip()
                utf8 = not all(a.isascii() for a in (sender, *recipients))
                if utf8 and not smtp.has_extn("smtputf8"):
                    raise ConnectorError(f"the SMTP server {where} cannot take internationalised addresses (no SMTPUTF8); "
                                         "send to an ASCII address or use another server", connector=self.name)
                self._check(smtp.mail(sender, ["SMTPUTF8"] if utf8 else []), "MAIL FROM", where)
                for rcpt in recipients:
                    self._check(smtp.rcpt(rcpt), f"RCPT TO {rcpt}", where)
            except smtplib.SMTPAuthenticationError as exc:
                raise ConnectorError(f"the SMTP server {where} refused the login of {self.username!r} ({_said(exc)}); check "
                                     f"[connectors.{self.name}] username and the secret named by password",
                                     connector=self.name) from None
            except (smtplib.SMTPServerDisconnected, OSError, socket.timeout) as exc:
                raise ConnectorError(f"the SMTP server {where} dropped the connection before the message was handed over "
                                     f"({_said(exc)}); it will be tried again", connector=self.name, transient=True) from None
            except smtplib.SMTPResponseException as exc:
                raise self._refused(exc.smtp_code, exc.smtp_error, "the conversation", where) from None
            except smtplib.SMTPException as exc:
                raise ConnectorError(f"the SMTP server {where} answered unexpectedly: {_said(exc)}", connector=self.name,
                                     transient=True) from None
            self.env.journal.mark(key, "data", where)
            try:
                # SMTP lines end in CRLF; smtplib sends bytes as given, so the message is written with them
                code, reply = smtp.data(msg.as_bytes(policy=(SMTPUTF8 if utf8 else msg.policy).clone(linesep="\r\n")))
            except smtplib.SMTPDataError as exc:
                # the server refused the message itself: it was not taken, so trying again is safe
                self.env.journal.forget(key)
                raise self._refused(exc.smtp_code, exc.smtp_error, "the message", where) from None
            except (smtplib.SMTPException, OSError, socket.timeout) as exc:
                raise OutcomeUnknown(
                    f"the connection to {where} was lost while the message {msg['Message-ID']} was being handed over "
                    f"({_said(exc)}); the server may have accepted it", connector=self.name,
                    hint=f"search the Sent folder or the recipient's inbox for Message-ID {msg['Message-ID']}") from None
            if not 200 <= code < 300:
                # the server answered the message itself with a refusal: it was not taken, so trying again is safe
                self.env.journal.forget(key)
                raise self._refused(code, reply, "the message", where)
            self.env.journal.mark(key, "accepted", f"{code} {_said(reply)}")
            return f"{code} {_said(reply)}"
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _check(self, answer: tuple[int, bytes], what: str, where: str) -> None:
        code, text = answer
        if code >= 400:
            raise self._refused(code, text, what, where)

    def _refused(self, code: int, text: Any, what: str, where: str) -> ConnectorError:
        transient = 400 <= code < 500
        return ConnectorError(f"the SMTP server {where} answered {code} to {what}: {_said(text)}"
                              + ("; it will be tried again" if transient else "; not retried: the message or the address "
                                 "must change"), connector=self.name, transient=transient)

    def _copy(self, msg: EmailMessage) -> str | None:
        if self.sent is None:
            return None
        try:
            return self.sent.store(msg)
        except (ConnectorError, OSError) as exc:
            # sent is sent: a missing copy is noted on the receipt, not a reason to send again
            return f"no copy: {exc}"


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _said(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:300]
