"""Evidence: what an agent relied on, in one type from memory to the approval card.

A memory hit, a keyword match over the records and a message being answered
all become :class:`Evidence`: a reference, a snippet, where it came from,
and whether it is outside content (``untrusted``) or was flagged. Approvals
store it as JSON (:meth:`Evidence.to_json`), without the full passage.

The flag a message gets when it tries to instruct the assistant is spelled
here once, :data:`INJECTION`, and so is the question "is any of this
flagged?" (:func:`flagged`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

INJECTION = "prompt_injection"
"""The flag of content that tries to instruct the assistant: shown as evidence, never acted on automatically."""

_WORD = re.compile(r"\w+")
_STOP = frozenset(
    "a an and are as at be by for from has have i in is it its of on or our re that the this to we with you your "
    "will can could would should about into over not no yes hi hello thanks thank best regards".split())


@dataclass(frozen=True)
class Evidence:
    """What an agent relied on: a reference, a snippet, where it came from."""

    ref: str
    snippet: str
    source: str = ""
    score: float | None = None
    untrusted: bool = False
    """Content from outside (e-mail bodies): shown as evidence, never followed as instructions."""
    why: str = ""
    flags: tuple[str, ...] = ()
    """Warnings about the content, e.g. :data:`INJECTION`."""
    sensitive: bool = False
    """Never sent to a remote model."""
    text: str = field(default="", repr=False, compare=False)
    """The whole passage (for prompts); not part of the JSON an approval keeps."""
    meta: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The record's meta (thread, sender ...); not part of the JSON either."""

    @property
    def is_flagged(self) -> bool:
        return INJECTION in self.flags

    def focused(self, query: str, width: int = 280) -> Evidence:
        """The same evidence with its snippet cut around the first word of ``query`` found in the passage."""
        return replace(self, snippet=snippet(self.text or self.snippet, query, width))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ref": self.ref, "snippet": self.snippet}
        for key in ("source", "score", "why"):
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        if self.untrusted:
            out["untrusted"] = True
        if self.flags:
            out["flags"] = list(self.flags)
        if self.sensitive:
            out["sensitive"] = True
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        fields = {k: data[k] for k in ("ref", "snippet", "source", "score", "untrusted", "why", "sensitive") if k in data}
        return cls(**fields, flags=tuple(data.get("flags") or ()))


def flagged(evidence: Iterable[Evidence | Mapping[str, Any]]) -> bool:
    """Whether any piece (an :class:`Evidence` or its JSON) carries the :data:`INJECTION` flag."""
    for e in evidence:
        flags = e.flags if isinstance(e, Evidence) else (e.get("flags") or ())
        if INJECTION in flags:
            return True
    return False


def untrusted(evidence: Iterable[Evidence | Mapping[str, Any]]) -> bool:
    """Whether any piece is outside content."""
    return any(e.untrusted if isinstance(e, Evidence) else bool(e.get("untrusted")) for e in evidence)


def snippet(text: str, query: str = "", width: int = 280) -> str:
    """The part of ``text`` around the first word of ``query`` it contains (or its start), on one line."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    pos = 0
    low = flat.lower()
    for word in _WORD.findall(query.lower()):
        if len(word) < 3 or word in _STOP:
            continue
        i = low.find(word)
        if i >= 0:
            pos = max(0, i - width // 3)
            break
    cut = flat[pos:pos + width]
    return ("…" if pos else "") + cut + "…"


__all__ = ["INJECTION", "Evidence", "flagged", "snippet", "untrusted"]
