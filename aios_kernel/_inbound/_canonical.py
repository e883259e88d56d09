"""``canonicalise``: one inbound text, made safe to embed, index, classify and show, once.

Order matters: size limits first (so nothing later runs long), then HTML to
visible text (hidden parts aside), then invisible characters and look-alikes,
then what the text carries (encoded blobs, links, forwarded history). Bad input
never raises anything but :class:`~aios_kernel._errors.ValidationError` for a
wrong argument; everything else becomes a :class:`Note`.
"""

from __future__ import annotations

import re

from .._errors import ValidationError
from ._blobs import find_blobs
from ._html import HtmlText, html_to_text
from ._links import text_links
from ._types import Canonical, ContentType, Hidden, Limits, Note
from ._unicode import clean

DEFAULT_LIMITS = Limits()

_LOOKS_HTML = re.compile(r"<(?:html|body|div|table|p|span|a|br|font|td)\b[^>]{0,500}>", re.I)
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING = re.compile(r"[ \t]+\n")
# Where an earlier message starts inside this one: forwards, Outlook headers, "On ... wrote:" in four languages.
_HISTORY = re.compile(
    r"^(?:-{2,}\s*(?:original message|forwarded message|weitergeleitete nachricht|ursprüngliche nachricht|message transféré|"
    r"message d'origine|mensaje reenviado|mensaje original)\s*-{2,}|begin forwarded message:|"
    r"(?:on|am|le|el)\b.{0,160}\b(?:wrote|schrieb|a écrit|escribió)\s*:|"
    r"from:\s.{1,200}\n(?:sent|date|gesendet|envoyé|enviado):)",
    re.I | re.M)
_QUOTED = re.compile(r"^(?:>[ \t]?)+", re.M)


def _content_type(value: str) -> ContentType:
    base = (value or "").split(";", 1)[0].strip().lower()
    if base in ("text/plain", "plain", "text", ""):
        return "text/plain"
    if base in ("text/html", "html", "application/xhtml+xml"):
        return "text/html"
    raise ValidationError(f"content_type {value!r} is not text/plain or text/html; pass the body part's type", field="content_type")


def _cut_html(html: str, limit: int) -> str:
    """HTML cut at ``limit``, at the last tag start before it so no tag is broken in half."""
    cut = html.rfind("<", 0, limit)
    return html[: cut if cut > limit // 2 else limit]


def history(text: str) -> tuple[str, int]:
    """The newest message of ``text`` and how many earlier ones are nested (forwards, quotes)."""
    markers = list(_HISTORY.finditer(text))
    # a separator line followed at once by its "From: ... Sent:" block is one earlier message, not two
    separate = [m for i, m in enumerate(markers) if i == 0 or text[markers[i - 1].end(): m.start()].strip()]
    quote_depth = max((m.group(0).count(">") for m in _QUOTED.finditer(text)), default=0)
    depth = len(separate) + quote_depth
    first = markers[0].start() if markers else len(text)
    quoted = _QUOTED.search(text)
    if quoted and quoted.start() < first:
        first = quoted.start()
    latest = text[:first].strip()
    return (latest if re.search(r"\w", latest) else text.strip()), depth


def canonicalise(raw: str | bytes, *, content_type: str = "text/plain", limits: Limits = DEFAULT_LIMITS) -> Canonical:
    """Canonicalise one inbound body.

    ``raw`` is the decoded body (``bytes`` are read as UTF-8, undecodable bytes
    becoming U+FFFD); ``content_type`` is ``text/plain`` or ``text/html``.
    """
    notes: list[Note] = []
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw).decode("utf-8", errors="replace")
        notes.append(Note("decoded_bytes", "the body was given as bytes and read as UTF-8"))
    if not isinstance(raw, str):
        raise ValidationError(f"raw must be the body as str or bytes, got {type(raw).__name__}", field="raw")
    kind = _content_type(content_type)
    if len(raw) > limits.max_input_chars:
        notes.append(Note("truncated_input", f"the body has {len(raw):,} characters; only the first "
                                             f"{limits.max_input_chars:,} were read (Limits.max_input_chars)"))
        raw = raw[: limits.max_input_chars]
    if kind == "text/plain" and len(_LOOKS_HTML.findall(raw[:20_000])) >= 3:
        kind = "text/html"
        notes.append(Note("html_in_plain_text", "the body was labelled text/plain but is HTML; it was read as HTML"))
    if kind == "text/html":
        if len(raw) > limits.max_html_chars:
            notes.append(Note("truncated_html", f"the HTML has {len(raw):,} characters; only the first "
                                                f"{limits.max_html_chars:,} were parsed (Limits.max_html_chars)"))
            raw = _cut_html(raw, limits.max_html_chars)
        page = html_to_text(raw, limits)
    else:
        # cleaning is linear but not free: plain text far past the text limit is cut first (invisible
        # characters inflate it, so keep four times the limit for them)
        if len(raw) > 4 * limits.max_text_chars:
            notes.append(Note("truncated_text", f"the text has {len(raw):,} characters; the first "
                                                f"{4 * limits.max_text_chars:,} were read (4 x Limits.max_text_chars)"))
            raw = raw[: 4 * limits.max_text_chars]
        page = HtmlText(raw)
    notes.extend(page.notes)
    return _finish(page, kind, notes, limits)


def _finish(page: HtmlText, kind: ContentType, notes: list[Note], limits: Limits) -> Canonical:
    c = clean(page.text)
    text = _BLANKS.sub("\n\n", _TRAILING.sub("\n", c.text)).strip()
    folded = _BLANKS.sub("\n\n", _TRAILING.sub("\n", c.folded)).strip()
    if len(text) > limits.max_text_chars:
        if not any(n.code == "truncated_text" for n in notes):
                notes.append(Note("truncated_text", f"the visible text has {len(text):,} characters; the first "
                                                f"{limits.max_text_chars:,} were kept (Limits.max_text_chars)"))
        text, folded = text[: limits.max_text_chars], folded[: limits.max_text_chars]
    hidden = [Hidden(clean(h.text).folded, h.reason, h.tag) for h in page.hidden]
    if c.smuggled:
        hidden.append(Hidden(c.smuggled, "unicode tag characters", "text"))
    removed = dict(c.removed)
    for h in page.hidden:  # invisible characters inside hidden text count too
        for k, v in clean(h.text).removed.items():
            removed[k] = removed.get(k, 0) + v
    if c.mojibake_repaired:
        notes.append(Note("mojibake_repaired", "UTF-8 read as Windows-1252 (\"Ã¤\" for \"ä\") was decoded again"))
    if c.replacement_chars:
        notes.append(Note("replacement_characters", f"{c.replacement_chars} character(s) could not be decoded (shown as \ufffd): "
                                                    "the sender's charset label was probably wrong and those letters are lost"))
    if removed.get("zero_width", 0) >= 50:
        notes.append(Note("many_invisible_characters", f"{removed['zero_width']:,} zero-width characters were removed"))
    if not re.search(r"\w", text):
        if page.images:
            notes.append(Note("image_only", f"the body is {len(page.images)} image(s) and no text; nothing to read or check"))
        else:
            notes.append(Note("empty", "the body has no visible text"))
    blobs = list(page.blobs) + find_blobs(text, limits.max_items, limits.max_decoded_chars)
    links = list(page.links) if kind == "text/html" else text_links(text, limits.max_items)
    latest, depth = history(text)
    if depth >= 10:
        notes.append(Note("deeply_nested", f"{depth} forwarded or quoted messages are nested; the newest is read as the message"))
    return Canonical(text=text, folded=folded, content_type=kind, latest=latest, hidden=tuple(hidden[: limits.max_items]),
                     links=tuple(links), images=tuple(page.images), blobs=tuple(blobs[: limits.max_items]), removed=removed,
                     confusables=tuple(c.confusables), replacement_chars=c.replacement_chars, forwarded_depth=depth,
                     notes=tuple(notes))
