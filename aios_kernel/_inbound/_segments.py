"""Cutting a text into the sentences each detector scores on its own.

A message is judged by its worst sentence, so an instruction pasted at the
start, in the middle or at the end of a long notice is scored without the
notice diluting it. Lines broken in the middle of a sentence (HTML layout,
hard-wrapped mail) are joined first; sentences glued without a space
("email.If this") are split; very long runs without punctuation are cut
into overlapping windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+(?=[\"'“‘«(\[¿¡]?[^\W\d_]|\d)|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
# a full stop after these ends a word, not a sentence ("max. 6 pages", "approx. 2 days", "z. B.")
_ABBREV = re.compile(r"(?:\b(?:max|min|approx|incl|excl|etc|e\.g|i\.e|vs|no|nr|mr|mrs|ms|dr|prof|st|co|ltd|inc|corp|dept|"
                     r"ca|bzw|ggf|z\.b|u\.a|usw|evtl|inkl|zzgl|mme|mlle|env|p\.ex|sr|sra|dña|aprox|pág|tel|fig|vol|jan|feb|"
                     r"mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)|\b[A-Z])\.$", re.I)
_WORDS = re.compile(r"\S+")
_MAX_CHARS = 400
_WINDOW = 50


@dataclass(frozen=True)
class Segment:
    """One sentence (or window) of a text, with its offset and where it came from."""

    text: str
    start: int
    where: str = "visible"


def _lines(text: str) -> list[tuple[int, str]]:
    """Lines with offsets; a line that stops mid-sentence is joined with a next line that continues it."""
    out: list[tuple[int, str]] = []
    pos = 0
    for raw in text.split("\n"):
        line = raw.strip()
        start = pos + (len(raw) - len(raw.lstrip()))
        pos += len(raw) + 1
        if not line:
            out.append((start, ""))
            continue
        if out and out[-1][1] and not re.search(r"[.!?:;…)\]\"”»]$", out[-1][1]) and line[:1].islower():
            out[-1] = (out[-1][0], out[-1][1] + " " + line)
        else:
            out.append((start, line))
    return [(s, ln) for s, ln in out if ln]


def _windows(start: int, sentence: str) -> list[tuple[int, str]]:
    words = list(_WORDS.finditer(sentence))
    out = []
    for i in range(0, max(1, len(words) - 10), _WINDOW - 10):
        chunk = words[i: i + _WINDOW]
        a, b = chunk[0].start(), chunk[-1].end()
        out.append((start + a, sentence[a:b]))
    return out


def segments(text: str, where: str = "visible") -> list[Segment]:
    """The sentences of ``text`` (whitespace squashed), each with its offset."""
    out: list[Segment] = []
    for start, line in _lines(text):
        cuts = [0, *(m.end() for m in _END.finditer(line) if not _ABBREV.search(line[: m.start()].rstrip("\"'”’»)] "))),
                len(line)]
        for a, b in zip(cuts, cuts[1:]):
            sentence = line[a:b].strip()
            if not sentence:
                continue
            pieces = _windows(start + a, sentence) if len(sentence) > _MAX_CHARS else [(start + a, sentence)]
            out.extend(Segment(" ".join(p.split()), s, where) for s, p in pieces)
    return out
