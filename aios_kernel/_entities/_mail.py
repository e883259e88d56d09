"""What ingest learns from one inbound e-mail, once, before anything embeds, indexes, classifies or shows it.

:func:`read_body` picks the part a person reads (the HTML part when there is
one: hidden text only exists there), decodes it whatever its declared charset
says, canonicalises it with :mod:`aios_kernel._inbound` and records what the
library finds: the prompt-injection verdict with its reasons, automated mail
(kind, confidence, reasons, the facts worth keeping), what the newest message
asks and whether it settles its thread, hidden parts, links, encoded blobs and
notes. :func:`judge_sender` adds what needs the records: payment and credential
fraud, which weighs more when the sender is not a known contact.

The artifact keeps the canonical text as its body (the raw HTML never reaches
memory) and the findings in ``meta["inbound"]``; the flags
(:data:`~aios_kernel._evidence.INJECTION`, :data:`~aios_kernel._evidence.FRAUD`)
go to ``meta["flags"]`` with their reasons kept beside them. Nothing here raises
for a strange message: what cannot be read becomes a note, and a message the
library itself failed on is kept with the reason (``meta["inbound"]["error"]``)
so triage hands it to a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from .._evidence import FRAUD, INJECTION
from .._values import clean

AUTOMATION_HEADERS = ("Auto-Submitted", "List-Id", "List-Unsubscribe", "List-Post", "Precedence", "Return-Path", "Reply-To",
                      "X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond", "X-Auto-Reply", "Feedback-ID")
"""Headers that tell machine-sent mail from a person's, kept in the artifact's meta for the record."""
MAX_HEADERS = 200
"""Headers handed to :func:`~aios_kernel._inbound.automated` at most (each cut at 300 characters)."""
FRAUD_FLAG = 0.6
"""A fraud reason at or above this score flags the message; ``reply_to_mismatch`` alone never does."""
MAX_REASONS = 8
_CALENDAR_FIELD = re.compile(r"^(DTSTART|SUMMARY|METHOD|ORGANIZER)[^:\n]*:(.*)$", re.M | re.I)


@dataclass
class Mail:
    """The readable body of one message and what ingest found in it."""

    body: str
    flags: list[str] = field(default_factory=list)
    inbound: dict[str, Any] = field(default_factory=dict)
    canonical: Any = None
    """The :class:`~aios_kernel._inbound.Canonical` (kept for :func:`judge_sender`; never stored)."""
    headers: dict[str, str] = field(default_factory=dict)


def _decode(part: Message) -> tuple[str, list[dict[str, str]]]:
    """The part's text: its declared charset, else UTF-8, else Windows-1252, with a note when the label lied."""
    notes: list[dict[str, str]] = []
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # a broken transfer encoding is the sender's problem, not the ingest's
        notes.append({"code": "undecodable_transfer_encoding", "detail": f"{type(exc).__name__}: {exc}"[:200]})
        data = None
    if not isinstance(data, bytes):
        raw = part.get_payload()
        return (raw if isinstance(raw, str) else ""), notes
    declared = (part.get_content_charset() or "us-ascii").lower()
    try:
        return data.decode(declared), notes
    except (LookupError, UnicodeDecodeError) as exc:
        why = "is unknown" if isinstance(exc, LookupError) else "does not fit the bytes"
    for charset in ("utf-8", "cp1252"):
        try:
            text = data.decode(charset)
        except UnicodeDecodeError:
            continue
        notes.append({"code": "charset_mismatch", "detail": f"the declared charset {declared!r} {why}; the body was read "
                                                            f"as {charset}"})
        return text, notes
    notes.append({"code": "charset_mismatch", "detail": f"the declared charset {declared!r} {why}; undecodable bytes "
                                                        "were replaced"})
    return data.decode("utf-8", errors="replace"), notes


def _calendar(msg: Message) -> dict[str, str] | None:
    """The invitation's method, summary, start and organiser when the message carries a ``text/calendar`` part."""
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            text, _ = _decode(part)
            found = {m.group(1).lower(): m.group(2).strip()[:200] for m in _CALENDAR_FIELD.finditer(text[:50_000])}
            return {k: found[k] for k in ("method", "summary", "dtstart", "organizer") if k in found}
    return None


def _headers(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, (k, v) in enumerate(msg.items()):
        if i >= MAX_HEADERS:
            break
        out.setdefault(clean(str(k))[:100], clean(str(v))[:300])  # raw headers may carry undecodable bytes
    return out


def _reasons(reasons: Any) -> list[dict[str, Any]]:
    return [{**r.as_dict(), "text": r.text[:300]} for r in list(reasons)[:MAX_REASONS]]


def read_body(msg: Message, *, part: Message | None, sender: str = "", subject: str = "") -> Mail:
    """Canonicalise ``part``, the body of ``msg`` a person reads (chosen, under the limits, by the parser), and
    record the inbound library's findings (fraud comes with :func:`judge_sender`)."""
    headers = _headers(msg)
    try:
        return _read(msg, part, headers, sender, subject)
    except Exception as exc:  # the library must not take the ingest down; the message is kept, and a person decides
        text = ""
        try:
            text = _decode(part)[0] if part is not None else ""
            if part is not None and part.get_content_type() == "text/html":
                text = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", text))  # never the markup, even unchecked
        except Exception:  # noqa: BLE001 - nothing more to read
            text = ""
        reason = f"the message could not be checked ({type(exc).__name__}: {str(exc)[:200]}); a person should read it"
        return Mail(text.strip()[:200_000], [], {"error": reason, "notes": [{"code": "unchecked", "detail": reason}]},
                    None, headers)


def _read(msg: Message, part: Message | None, headers: dict[str, str], sender: str, subject: str) -> Mail:
    from .. import _inbound

    notes: list[dict[str, str]] = []
    if part is None:
        raw, kind = "", "text/plain"
        notes.append({"code": "no_text_part", "detail": "the message has no text or HTML part to read"})
    else:
        raw, notes = _decode(part)
        kind = "text/html" if part.get_content_type() == "text/html" else "text/plain"
    c = _inbound.canonicalise(raw, content_type=kind)
    try:
        verdict = _inbound.detect(c, subject=subject, sender=sender)
    except Exception as exc:  # the learned layer needs the embedder; the rules still judge without it
        verdict = _inbound.detect(c, subject=subject, sender=sender, learned=False)
        notes.append({"code": "learned_layer_unavailable", "detail": f"{type(exc).__name__}: {str(exc)[:160]}"})
    auto = _inbound.automated(headers, sender, c)
    invite = _calendar(msg)
    if invite is not None:  # an invitation, an update or an answer to one: the calendar handles it, not a reply
        why = f"calendar invitation (text/calendar part{', ' + invite['method'] if invite.get('method') else ''})"
        auto = _inbound.Automated("notification", max(0.9, auto.confidence if auto else 0.0),
                                  (why, *(auto.reasons if auto else ())))
    facts: list[dict[str, Any]] = []
    if auto is not None:
        facts = _inbound.facts(c, auto.kind, sender=sender, subject=subject)
        if invite:
            facts.insert(0, {"type": "event", **invite})
    q = _inbound.asks(c)
    summary = c.summary()
    summary["notes"] = notes + summary["notes"]
    body = c.text
    if not body.strip():
        body = "[no readable text: " + "; ".join(n["detail"] for n in summary["notes"][:2]) + "]" if summary["notes"] \
            else "[no readable text]"
    inbound = {
        "content_type": kind,
        "headers": {k: v for k, v in headers.items() if k.lower() in {h.lower() for h in AUTOMATION_HEADERS}},
        "injection": {**verdict.as_dict(), "reasons": _reasons(verdict.reasons)},
        "fraud": [],
        "automated": None if auto is None else {"kind": auto.kind, "confidence": auto.confidence,
                                                 "reasons": list(auto.reasons)[:MAX_REASONS]},
        "facts": facts[:10],
        "asks": {"expects_reply": q.expects_reply, "confidence": q.confidence, "settles": q.settles,
                 "addressed": q.addressed, "questions": [s[:300] for s in q.questions[:8]], "reasons": list(q.reasons)[:5]},
        "latest_chars": len(c.latest) if c.latest and body.startswith(c.latest) else len(body),
        **summary,
    }
    flags = [INJECTION] if verdict.flagged else []
    return Mail(body, flags, inbound, c, headers)


def judge_sender(mail: Mail, *, sender: str, subject: str = "", known_sender: bool = True) -> None:
    """Add payment and credential fraud to ``mail`` (its reasons, and the flag when one is strong enough)."""
    from .. import _inbound

    if mail.canonical is None:
        return
    reply_to = next((v for k, v in mail.headers.items() if k.lower() == "reply-to"), "")
    try:
        reasons = _inbound.fraud_signals(mail.canonical, subject=subject, sender=sender, known_sender=known_sender,
                                         reply_to=reply_to)
    except Exception as exc:  # noqa: BLE001 - recorded, and the message goes to a person
        mail.inbound.setdefault("notes", []).append({"code": "fraud_check_failed", "detail": f"{type(exc).__name__}: {exc}"[:200]})
        mail.inbound["error"] = "the fraud check failed on this message; a person should read it"
        return
    mail.inbound["fraud"] = _reasons(reasons)
    strong = [r for r in reasons if r.rule != "reply_to_mismatch" and r.score >= FRAUD_FLAG]
    if strong and FRAUD not in mail.flags:
        mail.flags.append(FRAUD)


def flag_reasons(inbound: dict[str, Any], *, per_flag: int = 3) -> list[str]:
    """Lines saying why a message was flagged (layer, rule and words), at most ``per_flag`` per flag, strongest first."""
    out = []
    injection = [r for r in (inbound.get("injection") or {}).get("reasons", []) if float(r.get("score", 0)) >= 0.5]
    for r in injection[:per_flag]:
        out.append(f"prompt injection ({r.get('layer')}, {r.get('where')}): {r.get('rule')} — “{r.get('text', '')[:160]}”")
    for r in (inbound.get("fraud") or [])[:per_flag]:
        out.append(f"possible fraud ({r.get('layer')}): {r.get('rule')} — “{r.get('text', '')[:160]}”")
    if inbound.get("error"):
        out.append(str(inbound["error"]))
    return out


__all__ = ["AUTOMATION_HEADERS", "Mail", "flag_reasons", "judge_sender", "read_body"]
