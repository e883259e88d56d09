"""Encoded runs in a text body: base64, hex, quoted-printable leftovers and data: URIs.

Each is listed with its offset and length; when it decodes to readable text,
that text is kept (cut short) so the detectors read what an attacker hid, the
way a model asked to "decode this" would.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from urllib.parse import unquote_to_bytes

from ._types import Blob

_B64 = re.compile(r"(?<![\w+/=-])(?:[A-Za-z0-9+/]{20,}(?:\n[A-Za-z0-9+/]{4,})*|[A-Za-z0-9_-]{24,})={0,2}(?![\w+/=-])")
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:(?:\\x)?[0-9A-Fa-f]{2}){16,}(?![0-9A-Za-z])")
_QP = re.compile(r"(?:=(?:[0-9A-F]{2}|\n)[^\s=]{0,40}){3,}")
_DATA_URI = re.compile(r"data:([\w/+.-]*)((?:;[\w-]+=[\w.-]+)*)(;base64)?,([A-Za-z0-9+/=%._~-]{8,})", re.I)
_MAX_DECODE = 100_000


def readable(raw: bytes, limit: int) -> str:
    """``raw`` as text when it is UTF-8 prose or an instruction, else ``""``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    if not text.strip():
        return ""
    printable = sum(c.isprintable() or c in "\n\t" for c in text) / len(text)
    letters = sum(c.isalpha() for c in text) / len(text)
    if printable < 0.95 or letters < 0.5 or " " not in text.strip():
        return ""
    return text[:limit]


def _b64(run: str, limit: int) -> str:
    s = run.replace("\n", "")
    if not (re.search(r"[A-Z]", s) and re.search(r"[a-z]", s) and re.search(r"[0-9+/_-]", s)):
        return ""  # a long word in one case is a word
    alt = "-_" if ("-" in s or "_" in s) else None
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), altchars=alt.encode() if alt else None, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return readable(raw, limit)


def find_blobs(text: str, limit: int, decoded_chars: int) -> list[Blob]:
    """Encoded runs of ``text`` with offsets; readable ones decoded."""
    out: list[Blob] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int, decoded: str) -> None:
        if len(out) < limit and not any(a <= start < b for a, b in taken):
            out.append(Blob(kind, start, end - start, decoded))  # type: ignore[arg-type]
            taken.append((start, end))

    for m in _DATA_URI.finditer(text):
        payload = m.group(4)[:_MAX_DECODE]
        try:
            raw = base64.b64decode(payload + "=" * (-len(payload) % 4)) if m.group(3) else unquote_to_bytes(payload)
        except (binascii.Error, ValueError):
            raw = b""
        add("data-uri", m.start(), m.end(), readable(raw, decoded_chars) if m.group(1).startswith("text") or not m.group(1) else "")
    for m in _B64.finditer(text):
        decoded = _b64(m.group(0)[:_MAX_DECODE], decoded_chars)
        if decoded or len(m.group(0)) >= 40 and re.search(r"\d", m.group(0)) and re.search(r"[a-z]", m.group(0)) \
                and re.search(r"[A-Z]", m.group(0)):
            add("base64", m.start(), m.end(), decoded)
    for m in _HEX.finditer(text):
        s = m.group(0).replace("\\x", "")
        if not re.search(r"[A-Fa-f]", s):
            continue  # a long number is a number
        add("hex", m.start(), m.end(), readable(bytes.fromhex(s[:_MAX_DECODE - _MAX_DECODE % 2]), decoded_chars))
    for m in _QP.finditer(text):
        # decode the whole line: the escapes are scattered through ordinary words
        a, b = text.rfind("\n", 0, m.start()) + 1, text.find("\n", m.end())
        line = text[a: b if b >= 0 else len(text)][:_MAX_DECODE]
        add("quoted-printable", m.start(), m.end(), readable(quopri.decodestring(line.encode("utf-8", "replace")), decoded_chars))
    return sorted(out, key=lambda b: b.start)
