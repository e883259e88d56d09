"""Evidence: what an agent relied on, in one type from memory to the approval card.

A memory hit, a keyword match over the records and a message being answered
all become :class:`Evidence`: a reference, a snippet, where it came from,
and whether it is outside content (``untrusted``) or was flagged. Approvals
store it as JSON (:meth:`Evidence.to_json`), without the full passage.

The flags a message gets at ingest are spelled here once: :data:`INJECTION`
when it tries to instruct the assistant, :data:`FRAUD` when it asks to move
money or secrets (changed bank details, credentials, documents to a new
address). So is the question "is any of this flagged?" (:func:`flagged`):
flagged outside content is shown to a person and never acted on automatically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

INJECTION = "prompt_injection"
"""The flag of content that tries to instruct the assistant: shown as evidence, never acted on automatically."""
FRAUD = "possible_fraud"
"""The flag of a message that asks to change payment details, pay, or send credentials or documents to a new
address: a review item for a person (who checks by phone, on a known number), never answered automatically."""
FLAGS = (INJECTION, FRAUD)
"""Every flag that keeps content away from automatic actions."""
FLAG_LABELS = {INJECTION: "prompt injection", FRAUD: "possible fraud"}
SENDS = "sends:"
"""The ref prefix of evidence that is text the decided action sends along (the reply a calendar hold goes out
with): a decision card shows it with the action, not among the sources."""

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
        return any(f in FLAGS for f in self.flags)

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
    """Whether any piece (an :class:`Evidence` or its JSON) carries one of :data:`FLAGS`."""
    return bool(flag_names(evidence))


def flag_names(evidence: Iterable[Evidence | Mapping[str, Any]]) -> list[str]:
    """The :data:`FLAGS` the pieces carry, each once, in the order of :data:`FLAGS`."""
    seen: set[str] = set()
    for e in evidence:
        seen.update(e.flags if isinstance(e, Evidence) else (e.get("flags") or ()))
    return [f for f in FLAGS if f in seen]


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


__all__ = ["FLAGS", "FLAG_LABELS", "FRAUD", "INJECTION", "Evidence", "flag_names", "flagged", "snippet", "untrusted"]
