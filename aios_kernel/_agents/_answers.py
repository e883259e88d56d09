"""The facts that answer a message: the owner's own notes, memory, and the records.

A reply is built from what the business already knows, never from the
message's own words (those are outside content: they may carry instructions,
and a reply that quotes them reflects them). Three sources, most specific first:

1. **Notes that point at the message.** The owner's notes, meetings and
   documents written on or after the message's day, whose lines name the
   sender ("**Pieter** (18 Nov): December call moved from 1 Dec; offer 3 Dec
   at 10:00 or 4 Dec at 14:00"). A line that names a day ("(16 Nov)", "asked
   on 4 Nov") points at the message of that day only; an undated one at the
   sender's open message. Such a note also says a reply is wanted.
2. **Memory, per question.** Each question the message asks (found at ingest
   by the inbound library) is a query to recall, scoped to the client; the
   sentences of trusted passages (notes, meetings, documents: never e-mail)
   that share its content words, preferring those with figures or dates.
3. **The records.** A question about an invoice for a month gets the total
   from the time entries and the rate card, computed as invoicing computes it.

Only sentences fit to send are kept: no questions, no notes to self ("send
Monday first thing"), nothing that speaks of the recipient in the third person;
their Markdown is removed. Every fact keeps its reference, so the approval
shows where each sentence came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .._evidence import Evidence

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
          "december")
_STOP = frozenset(
    "a an and are as at be by for from has have i in is it its of on or our so that the this to we with you your will can "
    "could would should about into over not no yes hi hello thanks thank best regards also just any some more what which "
    "when how if then than there their them they was were been do does did me my us me also would like please let know "
    "maybe still want need".split())
_WORD = re.compile(r"[a-zäöüßéèøåæ0-9€]+(?:[.,]\d+)*", re.I)
_SELF_NOTE = re.compile(
    r"^(?:send|offer|ignore|check|call|ask|remind|follow up|chase|book|prepare|draft|remember|reply|email|e-mail|write|"
    r"todo|to do|note to self|not sure)\b|\b(?:embarrassing|annoying|ugh|note to self|todo)\b",
    re.I)
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.I)
# the day a line says a message came: "(16 Nov)", "asked on 4 Nov", "Felix's email of 16 November"
_MESSAGE_DAY = re.compile(r"\(\s*(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s*\)|"
                          r"\b(?:asked|wrote|sent|mailed|called|e-?mail|message|mail|letter|note)\s+(?:on|of|from)\s+"
                          r"(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*", re.I)
# what a question is about, when its words are not the answer's: money, time, effort
_CONCEPTS = (
    ("#money", re.compile(r"\b(?:cost|costs|price|prices|pricing|fee|fees|budget|rate|rates|charge|how much|pay|quote)\b", re.I),
     re.compile(r"[€$£]\s?\d|\d\s?(?:€|eur|usd|gbp|chf)\b", re.I)),
    ("#when", re.compile(r"\b(?:timing|when|date|dates|deadline|delay|how long|timeline|schedule|until|by when)\b", re.I),
     re.compile(r"\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b\d{4}-\d\d-\d\d\b", re.I)),
    ("#effort", re.compile(r"\b(?:hours|effort|how many days|workload|take)\b", re.I),
     re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:(?:additional|extra|more|further)\s+)?(?:h|hours|days)\b", re.I)),
)
_LABEL = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*(?:\*\*[^*]{1,80}\*\*|__[^_]{1,80}__)\s*(?:\([^)]{0,40}\))?\s*[:.]?\s*")
_MARKDOWN = re.compile(r"\*\*|__|`|^#+\s*|^\s*[-*•]\s+|^\s*\d+[.)]\s+", re.M)
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9€\"“(])")
_ABBREVIATIONS = frozenset("approx ca e.g i.e incl excl etc vs no nr p.a mr mrs ms dr st".split())


@dataclass
class Fact:
    """One sentence a reply may state, and where it came from."""

    text: str
    ref: str
    source: str
    question: int | None = None
    """The index of the question it answers (None: the owner's note on the whole message)."""
    hints: str = ""
    """The text dates and times are read from (the owner's note line), when it holds any."""
    sensitive: bool = False
    score: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def evidence(self, why: str) -> Evidence:
        return Evidence(self.ref, self.text[:280], self.source, round(self.score, 3) if self.score else None, False, why,
                        (), self.sensitive)


def stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ings", "ing", "ies", "ied", "es", "ed", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def content_words(text: str, drop: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """The words that carry meaning (stemmed), without stop words and ``drop`` (names)."""
    return {stem(w) for w in _WORD.findall(text) if w.lower() not in _STOP and w.lower() not in drop and len(w) > 1}


def clean(sentence: str) -> str:
    """A note's sentence without its Markdown, its list marker or a bold label in front ("**Pieter** (18 Nov):")."""
    s = _LABEL.sub("", sentence.strip())
    s = _MARKDOWN.sub("", s).strip(" \t-–—:;")
    return s[:1].upper() + s[1:] if s else s


def _split(line: str) -> list[str]:
    parts, start = [], 0
    for m in _SPLIT.finditer(line):
        before = line[start:m.start()].rstrip(".!?").rsplit(None, 1)
        if before and before[-1].lower().rstrip(".") in _ABBREVIATIONS:
            continue  # "approx. €90" is one sentence
        parts.append(line[start:m.start()])
        start = m.end()
    parts.append(line[start:])
    return [p.strip() for p in parts if p.strip()]


def sentences(text: str) -> list[str]:
    """Lines cut into sentences (a bullet is a sentence on its own)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and not line.startswith("---"):
            out.extend(_split(line))
    return out


def sendable(sentence: str, names: set[str], *, min_words: int = 4) -> bool:
    """A sentence the owner could send as written: a statement, not a question, a label or a note to self,
    and not about the recipient in the third person."""
    s = sentence.strip()
    if len(s.split()) < min_words or s.endswith("?") or s.endswith(":"):
        return False
    if _SELF_NOTE.search(s):
        return False
    return not any(re.search(rf"\b{re.escape(n)}\b", s) for n in names if n)


def _month_number(word: str) -> int:
    return MONTHS.index(next(m for m in MONTHS if m.startswith(word[:3].lower()))) + 1


def message_days(line: str) -> set[tuple[int, int]]:
    """(day, month) of the messages a note line refers to ("(16 Nov)", "asked on 4 Nov"), not other dates in it."""
    out = set()
    for m in _MESSAGE_DAY.finditer(line):
        d, mon = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        out.add((int(d), _month_number(mon)))
    return out


def concepts(text: str, *, answer: bool) -> set[str]:
    """Tags for money, dates and effort: what a question asks about (``answer=False``) or an answer holds."""
    return {tag for tag, asked, held in _CONCEPTS if (held if answer else asked).search(text)}


def pointing_lines(records: Any, *, names: list[str], day: date, others: set[date]) -> list[tuple[dict[str, Any], str]]:
    """(note, line) for each line of the owner's notes since ``day`` that names the sender and means this message.

    A line naming days means the message of one of them (``day``), else it is about another message; an undated
    line means this message unless the sender has other open messages (``others``).
    """
    wanted = [n for n in names if n and len(n) >= 3]
    if not wanted:
        return []
    out = []
    for art in records.artifacts(kinds=("note", "meeting", "document"), since=day.isoformat()):
        for line in (art.get("body") or "").splitlines():
            if not any(re.search(rf"\b{re.escape(n)}\b", line) for n in wanted):
                continue
            named = message_days(line)
            if named:
                if (day.day, day.month) not in named:
                    continue
            elif others:
                continue
            out.append((art, line.strip()))
    return out


def _without_self_notes(sentence: str) -> str:
    """The clauses of a note's sentence that are not instructions to oneself ("...; offer 3 Dec at 10:00")."""
    kept = [c.strip() for c in sentence.split(";") if c.strip() and not _SELF_NOTE.search(c.strip())]
    out = "; ".join(kept)
    return out + ("" if not out or out[-1] in ".!?" else ".")


def note_facts(lines: list[tuple[dict[str, Any], str]], names: set[str]) -> list[Fact]:
    """The sendable sentences of the lines that point at a message (each line's whole text kept for its dates)."""
    out: list[Fact] = []
    for art, line in lines:
        src = f"{art['kind']} {art.get('date') or ''} “{art['title']}”".strip()
        body = clean(line)
        kept = [c for c in (clean(_without_self_notes(clean(s))) for s in sentences(body) if not clean(s).endswith("?"))
                if sendable(c, names, min_words=5)]
        for s in kept:
            if s and all(s != f.text for f in out):
                out.append(Fact(s, f"artifact:{art['id']}", src, None, hints=line, score=1.0))
        if not kept:  # nothing to quote, but its dates and times still count ("offer 3 Dec at 10:00 ...")
            out.append(Fact("", f"artifact:{art['id']}", src, None, hints=line, score=1.0))
    return out


def question_facts(recall: Any, questions: list[str], *, client_id: str | None, names: set[str], exclude: set[str],
                   since: str = "", dated: Any = None, k: int = 6) -> tuple[list[Fact], list[Evidence]]:
    """For each question, the best sendable sentence of trusted recalled passages (at most one per question).

    A sentence must share two content words (or tags: money, dates, effort) with the question; figures the
    question does not already hold count for it, and so does a passage written on or after ``since`` (the
    message's day: notes made to answer it) when ``dated(evidence)`` says so.
    """
    facts: list[Fact] = []
    seen: list[Evidence] = []
    drop = {n.lower() for n in names}
    used: set[str] = set()
    for qi, q in enumerate(questions):
        want = content_words(q, drop) | concepts(q, answer=False)
        if not want:
            continue
        asked_numbers = set(re.findall(r"\d+", q))
        where = {"client_id": client_id} if client_id else {}
        found = [ev for ev in recall(q, k=k, where=where) if not ev.untrusted and not ev.flags and ev.ref not in exclude
                 and f"artifact:{(ev.meta or {}).get('artifact_id')}" not in exclude]
        seen.extend(found)
        best: tuple[float, str, Evidence] | None = None
        for ev in found:
            fresh = 0.2 if since and dated is not None and (dated(ev) or "") >= since else 0.0
            for raw in sentences(ev.text or ev.snippet):
                s = clean(raw)
                if s in used or not sendable(s, names):
                    continue
                have = content_words(s, drop) | concepts(s, answer=True)
                overlap = len(want & have)
                if overlap < 2:
                    continue
                new_figures = bool(set(re.findall(r"\d+", s)) - asked_numbers)
                score = overlap / len(want) + (0.25 if new_figures else 0.0) + fresh
                if best is None or score > best[0]:
                    best = (score, s, ev)
        if best is not None:
            score, s, ev = best
            used.add(s)
            facts.append(Fact(s, str(ev.ref), ev.source, qi, sensitive=ev.sensitive, score=score))
    return facts, seen


def _month_asked(question: str, today: date) -> str | None:
    """``YYYY-MM`` of a month the question names (the latest such month not after today), else None."""
    low = question.lower()
    for i, name in enumerate(MONTHS, start=1):
        if re.search(rf"\b{name}\b", low):
            year = today.year if i <= today.month else today.year - 1
            return f"{year}-{i:02d}"
    if re.search(r"\blast month\b", low):
        first = today.replace(day=1)
        prev = date.fromordinal(first.toordinal() - 1)
        return f"{prev:%Y-%m}"
    return None


def invoice_facts(records: Any, questions: list[str], *, client_id: str | None, today: date,
                  billing_to: str = "") -> list[Fact]:
    """For a question about a month's invoice: the total per project from the timesheets and the rate card."""
    if not client_id:
        return []
    out: list[Fact] = []
    rates = {r["key"]: (Decimal(str(r["hourly_rate"])), r["currency"]) for r in records.rates()}
    for qi, q in enumerate(questions):
        if not re.search(r"\binvoice", q, re.I):
            continue
        month = _month_asked(q, today)
        if month is None:
            continue
        totals: dict[str, tuple[Decimal, Decimal, str]] = {}
        for e in records.billable_entries(month):
            if e["client_id"] != client_id or e["rate_key"] not in rates:
                continue
            rate, currency = rates[e["rate_key"]]
            hours = Decimal(str(e["hours"]))
            amount = (hours * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            h0, a0, _ = totals.get(e["code"], (Decimal(0), Decimal(0), currency))
            totals[e["code"]] = (h0 + hours, a0 + amount, currency)
        name = MONTHS[int(month[5:]) - 1].capitalize()
        asks_to_send = bool(re.search(r"\b(?:send|resend|re-send|get|receive|have)\b", q, re.I))
        for code, (hours, amount, currency) in sorted(totals.items()):
            figure = f"{amount:,.2f} {currency}"
            if asks_to_send:
                text = (f"The {name} invoice for {code} comes to {figure} ({hours.normalize():f} h); I'm sending it "
                        f"{'to ' + billing_to + ' ' if billing_to else ''}in a separate e-mail.")
            else:
                text = f"The {name} invoice for {code} comes to {figure} ({hours.normalize():f} h)."
            out.append(Fact(text, f"records:time_entries:{month}:{code}", "timesheets × rate card", qi, score=1.0,
                            meta={"project": code, "month": month, "total": str(amount), "currency": currency}))
    return out


__all__ = ["Fact", "clean", "concepts", "content_words", "invoice_facts", "message_days", "note_facts", "pointing_lines",
           "question_facts", "sendable", "sentences"]
