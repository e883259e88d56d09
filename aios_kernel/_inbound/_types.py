"""The values the inbound library hands out: all frozen, all plain data.

They are small dataclasses rather than dicts so the operator's evidence
(``Reason.text``) and the facts kept in meta (``Canonical.summary()``) have one
spelling everywhere; ``as_dict()`` gives the JSON-ready form for an e-mail's meta.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ContentType = Literal["text/plain", "text/html"]


@dataclass(frozen=True)
class Limits:
    """Size limits of :func:`canonicalise`; past each one the input is cut and the cut recorded.

    The defaults keep one message under half a second on one busy core: parsing,
    style checks and text layout are linear, about 0.5-1 s per megabyte of HTML.
    (Gmail clips messages at 102 KB; newsletters are 50-150 KB.)
    """

    max_input_chars: int = 5_000_000
    """Longer input (text or HTML) is cut here before anything else looks at it."""
    max_html_chars: int = 500_000
    """HTML past this many characters is cut at the last tag boundary before parsing."""
    max_text_chars: int = 200_000
    """Visible text past this many characters is cut (a person reads no more, nor should a model)."""
    max_elements: int = 50_000
    """HTML elements past this count are not checked for hidden styles (their text stays visible)."""
    max_css_chars: int = 50_000
    """Characters of ``<style>`` sheets read (mail templates have 5-30 KB)."""
    max_style_rules: int = 300
    """Style-sheet rules applied (each one is a pass over the document); real templates have fewer."""
    max_depth: int = 250
    """Nesting the HTML parser can follow; deeper documents are read by a flat fallback."""
    max_items: int = 500
    """At most this many hidden parts, links, images and blobs are listed each."""
    max_decoded_chars: int = 4_000
    """Decoded text kept per encoded blob."""


@dataclass(frozen=True)
class Note:
    """Something canonicalisation did or could not do, for the operator and for the record."""

    code: str
    """A stable key: ``truncated``, ``image_only``, ``replacement_characters``, ``html_too_deep`` ..."""
    detail: str


@dataclass(frozen=True)
class Hidden:
    """Text a reader does not see but a model would: kept aside with why it is hidden."""

    text: str
    reason: str
    """``display:none``, ``visibility:hidden``, ``font-size:0``, ``same colour as background``,
    ``transparent text``, ``opacity:0``, ``html comment``, ``off-screen``, ``hidden attribute``,
    ``zero-size box``, ``clipped``, ``unicode tag characters`` ..."""
    tag: str = ""


@dataclass(frozen=True)
class Link:
    """A link with its real target; ``mismatch`` when the shown text names another domain."""

    text: str
    href: str
    domain: str
    shown_domain: str = ""
    mismatch: bool = False
    hidden: bool = False
    source: Literal["html", "text"] = "html"


@dataclass(frozen=True)
class Image:
    """An image of an HTML body (a 1x1 or invisible one is a tracking pixel)."""

    src: str
    alt: str = ""
    tracking: bool = False


@dataclass(frozen=True)
class Blob:
    """A run of encoded data in the text: where it is, how long, and what it decodes to if it is text."""

    kind: Literal["base64", "hex", "quoted-printable", "data-uri"]
    start: int
    """Offset in ``Canonical.text`` (or -1 when found in HTML attributes)."""
    length: int
    decoded: str = ""
    """The decoded text when the blob is readable text (cut at ``Limits.max_decoded_chars``), else ``""``."""


@dataclass(frozen=True)
class Canonical:
    """One inbound text, canonicalised once before it is embedded, indexed, classified or shown to a model."""

    text: str
    """What a person sees: visible text only, invisible characters removed, readable in every script."""
    folded: str
    """``text`` for detectors: NFKC and look-alike letters folded to Latin in words that mix scripts."""
    content_type: ContentType = "text/plain"
    latest: str = ""
    """The newest message of ``text``: quoted replies and forwarded messages cut off."""
    hidden: tuple[Hidden, ...] = ()
    links: tuple[Link, ...] = ()
    images: tuple[Image, ...] = ()
    blobs: tuple[Blob, ...] = ()
    removed: dict[str, int] = field(default_factory=dict)
    """Counts of removed characters by kind: ``zero_width``, ``zero_width_in_words``, ``bidi``,
    ``bidi_override``, ``control``, ``tag``, ``variation_selector``."""
    confusables: tuple[tuple[str, str], ...] = ()
    """Words folded for detection, as ``(as written, folded)``."""
    replacement_chars: int = 0
    forwarded_depth: int = 0
    """How many forwarded or quoted messages are nested in the text."""
    notes: tuple[Note, ...] = ()

    @property
    def truncated(self) -> bool:
        return any(n.code.startswith("truncated") for n in self.notes)

    def note(self, code: str) -> Note | None:
        """The first note with ``code``, or None."""
        return next((n for n in self.notes if n.code == code), None)

    def summary(self) -> dict[str, Any]:
        """What ingest keeps in an e-mail's meta: counts and short lists, not the whole text."""
        return {
            "hidden": [{"reason": h.reason, "text": h.text[:200]} for h in self.hidden[:20]],
            "links": [{"text": ln.text[:80], "href": ln.href[:300], "mismatch": ln.mismatch} for ln in self.links[:50]],
            "mismatched_links": sum(ln.mismatch for ln in self.links),
            "blobs": [{"kind": b.kind, "start": b.start, "length": b.length} for b in self.blobs[:20]],
            "removed": dict(self.removed),
            "confusables": [list(c) for c in self.confusables[:20]],
            "replacement_chars": self.replacement_chars,
            "forwarded_depth": self.forwarded_depth,
            "notes": [{"code": n.code, "detail": n.detail} for n in self.notes],
        }


@dataclass(frozen=True)
class Reason:
    """Why a verdict was reached: the layer, the words that triggered it, and how strongly."""

    layer: str
    """``rules``, ``learned``, ``hidden``, ``obfuscation`` (prompt injection) or ``fraud``."""
    text: str
    """The sentence or words shown to the operator as evidence."""
    rule: str = ""
    """Which rule or signal (``override``, ``fake_system_block``, ``bank_details_change`` ...)."""
    score: float = 1.0
    where: str = "visible"
    """``visible``, ``hidden``, ``blob``, ``subject`` or ``smuggled`` (Unicode tag characters)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """The prompt-injection verdict of one message."""

    flagged: bool
    score: float
    reasons: tuple[Reason, ...] = ()
    layers: dict[str, float] = field(default_factory=dict)
    """The highest score each layer gave (0 when it saw nothing)."""

    def as_dict(self) -> dict[str, Any]:
        return {"flagged": self.flagged, "score": round(self.score, 4), "layers": {k: round(v, 4) for k, v in self.layers.items()},
                "reasons": [r.as_dict() for r in self.reasons]}


@dataclass(frozen=True)
class Automated:
    """Mail sent by a machine, not a person: what kind, how sure, and why."""

    kind: Literal["notification", "newsletter", "receipt"]
    confidence: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ask:
    """Whether a message waits for an answer, or settles its thread."""

    expects_reply: bool
    confidence: float
    questions: tuple[str, ...] = ()
    """The sentences that ask something of the reader."""
    settles: bool = False
    reasons: tuple[str, ...] = ()
    addressed: int = 0
    """How many of ``questions`` are put to the reader: in the second person or as a request ("could you ..."),
    not a question in the air ("maybe a small arrow instead?")."""
