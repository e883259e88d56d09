"""Parsing the source files of a business folder (Markdown notes, .eml, CSV)."""

from __future__ import annotations

import csv
import email
import email.policy
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

from .._errors import IngestError
from .._ids import iso
from ._mail import Mail, read_body


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path, required: list[str]) -> list[dict[str, str]]:
    """Rows of a CSV file whose header must contain ``required``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8 and ingest again", path=path) from exc
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise IngestError(f"{path}: missing column(s) {', '.join(missing)}; the header must include {', '.join(required)}", path=path)
    rows = []
    for n, row in enumerate(reader, start=2):
        if None in row:
            raise IngestError(f"{path}, line {n}: more fields than the header has; quote values that contain commas", path=path)
        rows.append({k: (v or "").strip() for k, v in row.items()})
    return rows


@dataclass
class Note:
    """A Markdown note with a ``key: value`` front matter block."""

    path: Path
    front: dict[str, str]
    body: str

    @property
    def title(self) -> str:
        return self.front.get("title") or self.path.stem


def read_note(path: Path) -> Note:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8 and ingest again", path=path) from exc
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
        try:
            datetime.fromisoformat(front["date"])
        except ValueError as exc:
            raise IngestError(f"{path}: date {front['date']!r} is not an ISO date (YYYY-MM-DD)", path=path) from exc
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
    mail: Mail | None = field(default=None, repr=False)
    """What ingest found in the body (see :mod:`._mail`)."""

    @property
    def thread_id(self) -> str:
        return (self.references[0] if self.references else self.in_reply_to) or self.message_id

    def meta(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id, "thread_id": self.thread_id, "from": self.sender, "from_name": self.sender_name,
            "to": self.to, "in_reply_to": self.in_reply_to, "references": self.references, "flags": self.flags,
            "untrusted": True, **({"inbound": self.mail.inbound} if self.mail is not None else {}),
        }


def read_email(path: Path) -> Email:
    """Parse and validate an .eml file; a malformed one raises IngestError saying what is wrong."""
    raw = path.read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    problems: list[str] = []
    for defect in msg.defects:
        problems.append(type(defect).__name__)
    name, sender = parseaddr(str(msg.get("From", "") or ""))
    if not sender or "@" not in sender:
        problems.append("no valid From header")
    date = None
    date_header = msg.get("Date")
    if not date_header:
        problems.append("no Date header")
    else:
        try:
            parsed = parsedate_to_datetime(str(date_header))
            date = iso(parsed)
        except (TypeError, ValueError, IndexError):
            problems.append(f"Date {str(date_header)!r} is not an RFC 2822 date")
    message_id = str(msg.get("Message-ID", "") or "").strip()
    if not message_id:
        problems.append("no Message-ID header")
    if problems:
        raise IngestError(
            f"{path.name}: malformed e-mail ({'; '.join(problems)}). It was not ingested and nothing else was affected; "
            "fix or re-export the message and run `aios ingest` again",
            path=path,
        )
    subject = str(msg.get("Subject", "") or "").strip()
    mail = read_body(msg, sender=sender.lower(), subject=subject)  # canonical text and findings, once
    refs = str(msg.get("References", "") or "").split()
    in_reply_to = str(msg.get("In-Reply-To", "") or "").strip() or None
    to = [addr for _, addr in getaddresses([str(v) for v in msg.get_all("To", [])]) if addr]
    return Email(path, message_id, subject, name.strip(), sender.lower(), to, date or "", in_reply_to, refs, mail.body,
                 mail.flags, mail)
