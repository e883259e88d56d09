"""Parsing the source files of a business folder (Markdown notes, .eml, CSV, TOML).

Source files come from outside and are parsed under the limits of
:mod:`aios_kernel._limits`, in time linear in their size: a file past a limit,
or one that cannot be parsed, raises IngestError saying what is wrong and how
to fix it (ingest records it as a rejected file and goes on with the others).
E-mail is parsed with the ``compat32`` policy, whose header handling is linear;
the few headers ingest needs are decoded here, and the body is found without
recursion, so neither a megabyte header nor a message nested thousands of levels
deep can hang or crash a run.
"""

from __future__ import annotations

import codecs
import csv
import email
import email.errors
import email.header
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

from .. import _values
from .._errors import ConfigError, IngestError, ValidationError
from .._ids import iso
from .._limits import LIMITS, Limits
from .._values import clean, printable
from ._attachments import Attachment, attachments
from ._dsn import delivery_report
from ._mail import Mail, read_body


NOTE_KINDS = ("note", "meeting", "document")
"""What a note's front matter may say it is (what the agents and memory know how to use)."""


def read_source(path: Path, limits: Limits = LIMITS, *, max_bytes: int | None = None) -> bytes:
    """The bytes of a source file: a regular file within ``max_bytes`` (default ``max_file_bytes``; else IngestError)."""
    name = printable(str(path))
    max_bytes = limits.max_file_bytes if max_bytes is None else max_bytes
    if not path.is_file():
        what = "a folder" if path.is_dir() else "a link to nothing" if path.is_symlink() else "not a regular file"
        raise IngestError(f"{name} is {what}; remove it or replace it with the file it should be", path=path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(f"{name} has {size:,} bytes, more than the limit of {max_bytes:,} for one "
                              "source file; split it or move it out of the business folder", path=path)
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {name} ({exc.strerror}); check its permissions", path=path) from exc


def read_text(path: Path, limits: Limits = LIMITS, *, encoding: str = "utf-8") -> str:
    """A source file as text; not UTF-8 is an IngestError saying so."""
    data = read_source(path, limits)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(f"{printable(str(path))}: not UTF-8 text ({exc}); save it as UTF-8 and ingest again",
                          path=path) from exc
    if "\x00" in text:
        raise IngestError(f"{printable(str(path))}: holds a NUL character (line {text.count(chr(10), 0, text.index(chr(0))) + 1})"
                          "; it is not a text file, or is damaged", path=path)
    return text


def file_hash(path: Path) -> str | None:
    """SHA-256 of a source file's bytes (None when it is not a readable regular file)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except OSError:
        return None


def read_csv(path: Path, required: list[str], limits: Limits = LIMITS) -> list[dict[str, str]]:
    """Rows of a CSV file whose header must contain ``required``."""
    name = printable(str(path))
    text = read_text(path, limits, encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    rows = []
    n = 1
    try:
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise IngestError(f"{name}: missing column(s) {', '.join(missing)}; the header must include "
                              f"{', '.join(required)}", path=path)
        for n, row in enumerate(reader, start=2):
            if None in row:
                raise IngestError(f"{name}, line {n}: more fields than the header has; quote values that contain commas",
                                  path=path)
            if n > limits.max_csv_rows:
                raise IngestError(f"{name} has more than {limits.max_csv_rows:,} rows; split it", path=path)
            out = {}
            for k, v in row.items():
                v = (v or "").strip()
                if len(v) > limits.max_csv_field_chars:
                    raise csv.Error(f"field larger than field limit ({limits.max_csv_field_chars})")
                out[k] = v
            rows.append(out)
    except csv.Error as exc:
        raise IngestError(f"{name}, line {n + 1}: not readable as CSV ({exc}); a cell may hold an unclosed quote, "
                          f"or more than {min(limits.max_csv_field_chars, csv.field_size_limit()):,} characters",
                          path=path) from exc
    return rows


def read_toml(path: Path, limits: Limits = LIMITS) -> dict[str, Any]:
    """A TOML source file (``business.toml``), parsed as ``aios.toml`` is; any problem is an IngestError."""
    from .._workspace._config import read_toml as parse

    try:
        return parse(path, max_bytes=limits.max_file_bytes)
    except ConfigError as exc:
        raise IngestError(str(exc), path=path) from None


def check_date(value: str, what: str, path: Path, line: int | None = None) -> str:
    """An ISO date (or date and time) within the years the workbench accepts, as given; IngestError otherwise."""
    where = printable(str(path)) + (f", line {line}" if line is not None else "")
    try:
        _values.time(value, what)
    except ValidationError:
        raise IngestError(f"{where}: {what} {printable(value)[:40]!r} is not an ISO date (YYYY-MM-DD) between "
                          f"{LIMITS.min_year} and {LIMITS.max_year}", path=path) from None
    return value


@dataclass
class Note:
    """A Markdown note with a ``key: value`` front matter block."""

    path: Path
    front: dict[str, str]
    body: str

    @property
    def title(self) -> str:
        return self.front.get("title") or self.path.stem


def read_note(path: Path, limits: Limits = LIMITS) -> Note:
    text = read_text(path, limits)
    if len(text) > limits.max_body_chars:
        raise IngestError(f"{printable(str(path))} has {len(text):,} characters, more than the limit of "
                          f"{limits.max_body_chars:,}; split it into several notes", path=path)
    front: dict[str, str] = {}
    body = text
    if text.startswith("---"):
        parts = text.split("\n---", 1)
        if len(parts) != 2:
            raise IngestError(f"{path}: front matter opened with '---' is never closed; add a closing '---' line", path=path)
        for n, line in enumerate(parts[0].splitlines()[1:], start=2):
            if not line.strip():
                continue
            if ":" not in line:
                raise IngestError(f"{path}, line {n}: front matter lines are 'key: value', got {line!r}", path=path)
            key, value = line.split(":", 1)
            front[key.strip().lower()] = value.strip()
        body = parts[1].lstrip("-").lstrip("\n")
    if front.get("date"):
        check_date(front["date"], "date", path)
    if front.get("kind") and front["kind"] not in NOTE_KINDS:
        raise IngestError(f"{printable(str(path))}: kind {printable(front['kind'])[:40]!r} is not one of "
                          f"{', '.join(NOTE_KINDS)}; fix the front matter", path=path)
    title = front.get("title") or path.stem
    if len(title) > limits.max_title_chars:
        raise IngestError(f"{printable(str(path))}: the title has {len(title):,} characters, more than the limit of "
                          f"{limits.max_title_chars:,}; shorten it", path=path)
    return Note(path, front, body.strip())


@dataclass
class Email:
    """One parsed, validated message."""

    path: Path
    message_id: str
    subject: str
    sender_name: str
    sender: str
    to: list[str]
    date: str
    in_reply_to: str | None
    references: list[str]
    body: str
    flags: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    """The bytes of each attachment kept, by SHA-256 (to be stored; never in a record)."""
    delivery: dict[str, Any] | None = None
    """What a delivery status notification reports about a message we sent (:mod:`._dsn`)."""
    mail: Mail | None = field(default=None, repr=False, compare=False)
    """What ingest found in the body (see :mod:`._mail`)."""

    @property
    def thread_id(self) -> str:
        return (self.references[0] if self.references else self.in_reply_to) or self.message_id

    def meta(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id, "thread_id": self.thread_id, "from": self.sender, "from_name": self.sender_name,
            "to": self.to, "in_reply_to": self.in_reply_to, "references": self.references, "flags": self.flags,
            "untrusted": True, **({"attachments": [a.to_json() for a in self.attachments]} if self.attachments else {}),
            **({"delivery": self.delivery} if self.delivery else {}),
            **({"inbound": self.mail.inbound} if self.mail is not None else {}),
        }


def read_email(path: Path, limits: Limits = LIMITS) -> Email:
    """Parse and validate an .eml file; a malformed one raises IngestError saying what is wrong."""
    return parse_email(read_source(path, limits, max_bytes=limits.max_message_bytes), printable(path.name), path, limits)


def parse_email(raw: bytes, name: str, path: Path, limits: Limits = LIMITS) -> Email:
    """Parse and validate one message's bytes (a file, or a message a mail sync fetched; ``path`` names it)."""
    if len(raw) > limits.max_message_bytes:
        raise IngestError(f"{name}: {len(raw):,} bytes, more than the limit of {limits.max_message_bytes:,} for one message; "
                          "it was not ingested (it stays in the mailbox)", path=path)
    _check_shape(raw, name, path, limits)
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers = _Headers(msg, name, path, limits)
    problems = [type(defect).__name__ for defect in msg.defects]
    sender_name, sender = parseaddr(headers.get("From"))
    if not sender or "@" not in sender:
        problems.append("no valid From header")
    date = None
    date_header = headers.get("Date")
    if not date_header:
        problems.append("no Date header")
    else:
        try:
            date = iso(_values.time(parsedate_to_datetime(date_header), "Date"))
        except (TypeError, ValueError, IndexError, OverflowError):  # ValidationError is a ValueError: out of range
            problems.append(f"Date {date_header[:60]!r} is not an RFC 2822 date between {limits.min_year} and "
                            f"{limits.max_year}")
    message_id = headers.get("Message-ID").strip()
    if not message_id.strip("<> \t"):
        problems.append("no Message-ID header")
    if problems:
        raise IngestError(
            f"{name}: malformed e-mail ({'; '.join(problems)}). It was not ingested and nothing else was affected; "
            "fix or re-export the message and run `aios ingest` again",
            path=path,
        )
    subject = headers.get("Subject").strip()
    if len(subject) > limits.max_title_chars:
        raise IngestError(f"{name}: the subject has {len(subject):,} characters, more than the limit of "
                          f"{limits.max_title_chars:,}; it was not ingested", path=path)
    part = _text_part(msg, name, path, limits)
    mail = read_body(msg, part=part, sender=sender.lower(), subject=subject)  # canonical text and findings, once
    body = clean(mail.body).strip()
    if len(body) > limits.max_body_chars:
        raise IngestError(f"{name}: its text has {len(body):,} characters, more than the limit of "
                          f"{limits.max_body_chars:,}; it was not ingested", path=path)
    refs = headers.get("References").split()
    in_reply_to = headers.get("In-Reply-To").strip() or None
    to = [clean(addr) for _, addr in getaddresses(headers.get_all("To")) if addr]
    found = attachments(msg, _decode_header, limits)
    return Email(path, message_id, subject, sender_name.strip(), sender.lower(), to, date or "", in_reply_to, refs, body,
                 mail.flags, [a for a, _ in found], {a.sha256: data for a, data in found if data is not None},
                 delivery_report(msg), mail)


def _header_block_end(raw: bytes) -> int:
    """Where the top-level header block ends (the first empty line), or the end of the file."""
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0]
    return min(ends) if ends else len(raw)


_CONTENT_TYPE_LINE = re.compile(rb"^content-type[ \t]*:", re.I | re.M)


def _check_shape(raw: bytes, name: str, path: Path, limits: Limits) -> None:
    """Refuse, before parsing, a message whose header block or number of MIME parts is past the limits (linear scans)."""
    head = _header_block_end(raw)
    if head > limits.max_header_bytes:
        raise IngestError(f"{name}: its header block has {head:,} bytes, more than the limit of {limits.max_header_bytes:,}; "
                          "it was not ingested (re-export the message without the oversized header)", path=path)
    parts = sum(1 for _ in _CONTENT_TYPE_LINE.finditer(raw))
    if parts > limits.max_mime_parts:
        raise IngestError(f"{name}: it has {parts:,} MIME parts, more than the limit of {limits.max_mime_parts}; it was "
                          "not ingested", path=path)


class _Headers:
    """The top-level headers ingest reads, unfolded, encoded words decoded, and repaired (:func:`clean`)."""

    def __init__(self, msg: Message, name: str, path: Path, limits: Limits) -> None:
        self.values: dict[str, list[str]] = {}
        for key, value in msg.raw_items():
            text = _decode_header(value)
            if len(text) > limits.max_header_chars:
                raise IngestError(f"{name}: header {printable(key)[:40]} has {len(text):,} characters, more than the limit "
                                  f"of {limits.max_header_chars:,}; it was not ingested", path=path)
            self.values.setdefault(key.lower(), []).append(text)

    def get(self, key: str) -> str:
        return self.values.get(key.lower(), [""])[0]

    def get_all(self, key: str) -> list[str]:
        return self.values.get(key.lower(), [])


def _decode_header(value: Any) -> str:
    text = clean(str(value))
    text = re.sub(r"\r?\n(?=[ \t])", "", text).replace("\r", "").replace("\n", " ")
    if "=?" in text:
        try:
            text = str(email.header.make_header(email.header.decode_header(text)))
        except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
            pass  # an unknown or lying charset in an encoded word: the words stay as written
    return clean(text)


def _text_part(msg: Message, name: str, path: Path, limits: Limits) -> Message | None:
    """The part a person reads: the first HTML part (hidden text only exists there), else the first plain-text
    one (attachments and attached messages not searched), found without recursion; nesting, part sizes and the
    charset's name are checked on the way (a charset that lies about the bytes is read anyway, see :mod:`._mail`)."""
    best: dict[str, Message] = {}
    stack: list[tuple[Message, int, bool]] = [(msg, 0, True)]
    while stack:
        part, depth, searched = stack.pop()
        if depth > limits.max_mime_depth:
            raise IngestError(f"{name}: MIME parts are nested more than {limits.max_mime_depth} deep; it was not ingested",
                              path=path)
        attachment = part.get_content_disposition() == "attachment"
        maintype = part.get_content_maintype()
        if part.is_multipart():
            children = part.get_payload()
            inside = searched and not attachment and maintype == "multipart"
            stack.extend((child, depth + 1, inside) for child in reversed(children) if isinstance(child, Message))
            continue
        subtype = part.get_content_subtype()
        if not (searched and not attachment and maintype == "text" and subtype in ("plain", "html")):
            continue  # an attachment: listed (and stored) by _attachments, never read as the message's text
        payload = part.get_payload(decode=True) or b""
        if len(payload) > limits.max_attachment_bytes:
            raise IngestError(f"{name}: its text part has {len(payload):,} bytes, more than the limit of "
                              f"{limits.max_attachment_bytes:,}; it was not ingested", path=path)
        best.setdefault(subtype, part)
    part = best.get("html") or best.get("plain")
    if part is None:
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise IngestError(f"{name}: its text is in the character set {printable(charset)[:40]!r}, which is not known; "
                          "re-export the message as UTF-8", path=path) from None
    return part
