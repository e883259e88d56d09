"""The attachments of one e-mail: listed with the message, stored by hash in the workspace.

Every leaf part that is not the message's text (a part with a file name, or
one marked ``attachment``) is an attachment. Its name is decoded and cut to a
plain file name (no folders, no control characters); its content is hashed
(SHA-256) and, within ``limits.max_attachment_bytes``, stored in the
workspace's :class:`~aios_kernel._workspace.Blobs`. A larger one is still
listed, with why it was not stored: the message itself is never refused for
an attachment.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from email.message import Message
from typing import Any

from .._limits import LIMITS, Limits
from .._values import printable

MAX_NAME = 200
"""Longest attachment name kept (a longer one is cut, its extension kept)."""


@dataclass(frozen=True)
class Attachment:
    """One attachment as the artifact's ``meta["attachments"]`` records it."""

    name: str
    content_type: str
    size: int
    sha256: str
    stored: bool = True
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.content_type, "bytes": self.size, "sha256": self.sha256,
                               "stored": self.stored}
        if self.note:
            out["note"] = self.note
        return out


def attachments(msg: Message, decode_name: Any, limits: Limits = LIMITS) -> list[tuple[Attachment, bytes | None]]:
    """The attachments of a parsed message (its nesting already checked), each with its bytes when they are kept."""
    out: list[tuple[Attachment, bytes | None]] = []
    for n, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename is None and part.get_content_disposition() != "attachment":
            continue
        name = _name(decode_name(filename) if filename else "", n, part.get_content_type())
        try:
            data = part.get_payload(decode=True) or b""
        except Exception as exc:  # noqa: BLE001  (a broken transfer encoding: the part is listed, not stored)
            out.append((Attachment(name, part.get_content_type(), 0, "", False,
                                   f"its transfer encoding could not be decoded ({type(exc).__name__})"), None))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if len(data) > limits.max_attachment_bytes:
            out.append((Attachment(name, part.get_content_type(), len(data), sha, False,
                                   f"not stored: {len(data):,} bytes, more than the limit of {limits.max_attachment_bytes:,}; "
                                   "it stays in the mailbox"), None))
            continue
        out.append((Attachment(name, part.get_content_type(), len(data), sha), data))
    return out


def _name(raw: str, n: int, content_type: str) -> str:
    # no folders, no control or format characters (a right-to-left override can disguise "exe.pdf")
    text = "".join(c for c in printable(raw) if not unicodedata.category(c).startswith("C"))
    name = text.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    if not name:
        return f"part-{n}.{content_type.rsplit('/', 1)[-1][:10] or 'bin'}"
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:MAX_NAME]
    return name
