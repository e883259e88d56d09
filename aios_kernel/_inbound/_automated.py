"""Mail sent by machines: notifications, newsletters and receipts.

Headers say it best (RFC 3834 ``Auto-Submitted``, RFC 2369/2919 ``List-*``,
``Precedence``, an empty ``Return-Path``, Microsoft's
``X-Auto-Response-Suppress``), then the sender's mailbox name (``noreply@``,
``notifications@`` ...), then the content (a receipt, a card or bank alert, a
booking confirmation, an unsubscribe footer). Each signal adds weight;
confidence is ``1 - prod(1 - w)``, so two weak signals make a fair one and a
header alone is enough.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._types import Automated, Canonical

THRESHOLD = 0.55
"""One content signal (a person may well write "receipt" or "unsubscribe") stays under it; two, or any header, pass."""

_NOREPLY = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|noreply[-_.]\w+|mailer[-_.]daemon|postmaster|bounces?)"
                      r"(?:[-+.][\w.-]*)?$", re.I)
_ROBOT = re.compile(r"^(?:notifications?|notify|alerts?|updates?|news(?:letter)?s?|digest|billing|invoices?|receipts?|statements?|"
                    r"orders?|bookings?|reservations?|tickets?|accounts?-?(?:no-?reply)?|security|system|automated|mailer|info|"
                    r"hello|team|support|marketing|promo(?:tions)?|offers|deals)(?:[-+.][\w.-]*)?$", re.I)
_KIND_WORDS: dict[str, tuple[tuple[str, float], ...]] = {
    "receipt": (
        (r"\breceipt\b|\bquittung\b|\bbeleg\b|\breçu\b|\brecibo\b", 0.45),
        (r"\b(?:invoice|rechnung|facture|factura)\b.{0,40}\b(?:is ready|attached|available|ready|steht bereit|disponible)", 0.45),
        (r"\bpayment (?:received|confirmed|successful)|\bthank you for your (?:payment|order|purchase)|\border confirm", 0.45),
        (r"\b(?:amount (?:charged|paid)|total paid|subtotal|paid:|amount due|invoice (?:id|number|no\.?|#))", 0.35),
    ),
    "notification": (
        (r"\b(?:debit|credit) card\b|\byour card\b.{0,60}\b(?:charged|preauthori[sz]ed|declined|used|credited)|\bwas charged\b", 0.45),
        (r"\b(?:checking|savings|business) account\b|\b(?:wire|ach|sepa|intl\.?) (?:payment|transfer)\b|\btransaction\b", 0.35),
        (r"\b(?:you (?:sent|received|have received)|has (?:been )?(?:charged|credited|received))\b.{0,40}"
         r"(?:[$€£¥]|\b(?:usd|eur|gbp|chf)\b)\s?\d", 0.45),
        (r"\bbooking confirm(?:ation|ed)|\breservation (?:is )?confirm(?:ation|ed)|\byou'?re (?:all )?booked\b|"
         r"\byour (?:booking|reservation|trip) is confirmed", 0.45),
        (r"\b(?:booking|reservation) (?:reference|number|code)\b|\be-?tickets?\b|\bitinerary\b|\bcheck-?in (?:opens|online)|"
         r"\bboarding pass\b", 0.4),
        (r"\b(?:sign-?in|log-?in|password|verification code|one-time (?:code|passcode)|two-factor)\b.{0,50}\b(?:detected|"
         r"changed|reset|expires|enabled|new)\b", 0.45),
        (r"\byour (?:order|parcel|package|shipment) (?:has|is|was)\b|\btrack (?:your|the) (?:parcel|package|order)", 0.45),
        (r"\byou are receiving (?:this|these)? ?(?:notifications?|alerts?|emails?)\b|\bmanage (?:your )?(?:alerts|notifications)\b"
         r"|\bthis is an automated (?:message|e-?mail)|\bplease do not reply\b|\bdo not reply to this\b", 0.45),
    ),
    "newsletter": (
        (r"\bunsubscribe\b|\babmelden\b|\bse désabonner\b|\bdarse de baja\b|\bopt[- ]out\b", 0.45),
        (r"\bview (?:this (?:e-?mail )?)?in (?:your )?browser\b|\bmanage (?:your )?(?:e-?mail )?preferences\b|"
         r"\byou(?:'re| are) receiving this because\b|\bforward (?:it|this) to a (?:friend|colleague)\b", 0.45),
        (r"\b(?:newsletter|issue #?\d+|product update|this week:|weekly digest|monthly roundup)\b", 0.35),
        (r"\bif you (?:don'?t|do not) want to (?:hear from us|receive (?:these|our) e-?mails)\b|\breply \"?(?:no|stop)\"?\b", 0.45),
    ),
}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name.lower():
            return str(v).strip()
    return None


def _header_signals(headers: Mapping[str, str]) -> list[tuple[str, float, str]]:
    """``(kind, weight, reason)`` from the headers."""
    out = []
    auto = _header(headers, "Auto-Submitted")
    if auto and auto.lower().split(";")[0].strip() != "no":
        out.append(("notification", 0.95, f"Auto-Submitted: {auto[:40]}"))
    for name in ("List-Unsubscribe", "List-Id", "List-Post"):
        if _header(headers, name):
            out.append(("newsletter", 0.9, f"{name} header"))
            break
    prec = (_header(headers, "Precedence") or "").lower()
    if prec in ("bulk", "list", "junk"):
        out.append(("newsletter" if prec != "junk" else "notification", 0.85, f"Precedence: {prec}"))
    rp = _header(headers, "Return-Path")
    if rp is not None and rp.replace(" ", "") == "<>":
        out.append(("notification", 0.9, "empty Return-Path <>"))
    if _header(headers, "X-Auto-Response-Suppress"):
        out.append(("notification", 0.7, "X-Auto-Response-Suppress header"))
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _header(headers, name):
            out.append(("notification", 0.9, f"{name} header"))
    if any(_header(headers, n) for n in ("Feedback-ID", "X-Campaign", "X-Mailgun-Campaign-Id", "X-MC-User", "X-SG-EID")):
        out.append(("newsletter", 0.5, "bulk-mailer header"))
    return out


def _sender_signals(sender: str) -> list[tuple[str, float, str]]:
    local = sender.strip().strip("<>").rsplit("@", 1)[0].lower() if "@" in sender else ""
    if not local:
        return []
    if _NOREPLY.match(local):
        return [("notification", 0.85, f"no-reply sender {local}@")]
    if _ROBOT.match(local):
        kind = "newsletter" if re.match(r"news|digest|marketing|promo|offers|deals", local) else "notification"
        return [(kind, 0.35, f"role mailbox {local}@")]
    return []


def _content_signals(text: str) -> list[tuple[str, float, str]]:
    out = []
    for kind, patterns in _KIND_WORDS.items():
        for pattern, weight in patterns:
            m = re.search(pattern, text, re.I)
            if m:
                out.append((kind, weight, f"{kind} wording: {m.group(0)[:50]!r}"))
    return out


def automated(headers: Mapping[str, str], sender: str, canonical: Canonical | None = None) -> Automated | None:
    """The kind of machine-sent mail this is, or None when it reads as written by a person.

    ``headers`` may be empty (only ``Subject`` is used from content); ``canonical`` adds content signals.
    """
    signals = _header_signals(headers) + _sender_signals(sender)
    text = " ".join(x for x in (_header(headers, "Subject") or "", canonical.text if canonical else "") if x)
    signals += _content_signals(text[:20_000])
    if not signals:
        return None
    remaining = 1.0
    by_kind: dict[str, float] = {}
    for kind, w, _ in signals:
        remaining *= 1 - w
        by_kind[kind] = by_kind.get(kind, 0.0) + w
    confidence = 1 - remaining
    if confidence < THRESHOLD:
        return None
    # a card alert that also says "receipt" is a receipt; list headers make any bulk mail a newsletter
    kind = max(by_kind, key=lambda k: (by_kind[k], k == "receipt"))
    return Automated(kind, round(confidence, 3), tuple(r for _, _, r in sorted(signals, key=lambda s: -s[1])))  # type: ignore[arg-type]
