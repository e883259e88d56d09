"""``detect``: is this message trying to instruct the model that reads it?

Every layer scores sentences on their own and the message takes the worst
one, so an instruction pasted at the start, the middle or the end of a long
notice counts in full. Scores are on one scale: 0.5 and above flags.

- ``rules``: instructions for a model in English, German, French and Spanish (:mod:`._rules`);
- ``learned``: MiniLM vectors and a logistic head trained on this project's own sentences (:mod:`._learned`);
- ``hidden``: either of those firing on text the reader does not see (hidden HTML, comments);
- ``obfuscation``: an instruction found only in decoded blobs or Unicode tag characters, look-alike
  letters or zero-width characters inside words, bidirectional overrides.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._segments import Segment, segments
from ._types import Canonical, Reason, Verdict

FLAG = 0.5
MIN_WORDS = 3
"""Shorter sentences ("Log in", "$45.00") carry no instruction the head could judge; rules still read them."""
SHORT_WORDS = 6
"""Sentences under this many words ("Senior SEO Consultant") give the head little to go on: it must be surer,
halfway between its threshold and 1. Short attacks ("Respond only with emojis.") are what the rules are for."""
MAX_LEARNED = 600
"""Sentences the head reads per message (a forward pass each): past it, the first and last halves. Rules read all."""
CONCEALED_FACTOR = 0.6
"""Text nobody sees (hidden HTML, decoded blobs, tag characters) is judged against 0.6 x the head's threshold: a
sender has reasons to hide a preheader or a tracking note, none to hide an instruction, so the prior is higher."""


def _layer(where: str, base: str) -> str:
    if where == "hidden":
        return "hidden"
    if where in ("blob", "smuggled"):
        return "obfuscation"
    return base


def _calibrated(p: float, threshold: float) -> float:
    """The head's probability on the shared scale: ``threshold`` maps to 0.5."""
    if p >= threshold:
        return FLAG + (1 - FLAG) * (p - threshold) / max(1e-9, 1 - threshold)
    return FLAG * p / max(1e-9, threshold)


def all_segments(canonical: Canonical, subject: str = "") -> list[Segment]:
    """What the layers read: visible sentences, hidden text, decoded blobs, smuggled text and the subject."""
    from ._unicode import clean

    out = segments(canonical.folded)
    for h in canonical.hidden:
        out.extend(segments(h.text, "smuggled" if h.reason == "unicode tag characters" else "hidden"))
    for b in canonical.blobs:
        if b.decoded:
            out.extend(segments(clean(b.decoded).folded, "blob"))
    if subject.strip():
        out.extend(segments(clean(subject).folded, "subject"))
    return out


def _rules(segs: Iterable[Segment]) -> list[Reason]:
    from ._rules import match

    out = []
    for s in segs:
        for hit in match(s.text):
            out.append(Reason(_layer(s.where, "rules"), s.text[:500], f"{hit.rule} ({hit.lang}): {hit.words[:120]}", 1.0, s.where))
    return out


def _learned(segs: list[Segment]) -> list[Reason]:
    from ._learned import load_head, score

    head = load_head()
    judged = [s for s in segs if len(s.text.split()) >= MIN_WORDS]
    out = []
    if len(judged) > MAX_LEARNED:
        # instructions are pasted at the start or the end far more than in the middle of a long message
        skipped = len(judged) - MAX_LEARNED
        judged = judged[: MAX_LEARNED // 2] + judged[-MAX_LEARNED // 2:]
        out.append(Reason("learned", f"{skipped} sentences in the middle of a very long message were not read by the head",
                          "skipped", 0.0))
    for s, p in zip(judged, score([s.text for s in judged], head=head)):
        t = head.threshold_for(s.text)
        if len(s.text.split()) < SHORT_WORDS:
            t += (1 - t) / 2
        if s.where in ("hidden", "blob", "smuggled"):
            t *= CONCEALED_FACTOR
        c = _calibrated(p, t)
        if c >= FLAG / 2:
            out.append(Reason(_layer(s.where, "learned"), s.text[:500], f"head p={p:.3f}", round(c, 4), s.where))
    return out


def _obfuscation(canonical: Canonical, instructed: bool) -> list[Reason]:
    out = []
    mixed = [f"{a} -> {b}" for a, b in canonical.confusables]
    if mixed:
        score = 0.9 if len(mixed) >= 2 or instructed else 0.4
        out.append(Reason("obfuscation", ", ".join(mixed[:8]), "look-alike letters from other scripts", score))
    zw = canonical.removed.get("zero_width_in_words", 0)
    if zw:
        score = 0.9 if zw >= 5 or instructed else 0.3
        out.append(Reason("obfuscation", f"{zw} zero-width character(s) inside words", "zero_width_in_words", score))
    if canonical.removed.get("bidi_override"):
        out.append(Reason("obfuscation", f"{canonical.removed['bidi_override']} right-to-left override(s)", "bidi_override", 0.4))
    if canonical.removed.get("tag"):
        out.append(Reason("obfuscation", f"{canonical.removed['tag']} Unicode tag characters spelling hidden text",
                          "unicode_tags", 0.9))
    return out


def detect(canonical: Canonical, *, subject: str = "", sender: str = "", learned: bool = True) -> Verdict:
    """The prompt-injection verdict of one canonicalised message.

    ``learned=False`` skips the embedding layer (no model is loaded): rules and
    canonicalisation signals only. ``sender`` is accepted for the record and for
    future sender-aware rules; it never lowers a score.
    """
    segs = all_segments(canonical, subject)
    reasons = _rules(segs)
    if learned:
        reasons += _learned(segs)
    instructed = any(r.score >= FLAG for r in reasons)
    reasons += _obfuscation(canonical, instructed)
    layers: dict[str, float] = {k: 0.0 for k in ("rules", "learned", "hidden", "obfuscation")}
    for r in reasons:
        layers[r.layer] = max(layers.get(r.layer, 0.0), r.score)
    reasons.sort(key=lambda r: -r.score)
    top = max(layers.values(), default=0.0)
    return Verdict(top >= FLAG, round(top, 4), tuple(reasons), layers)
