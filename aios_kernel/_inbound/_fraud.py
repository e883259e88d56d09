"""Business e-mail compromise: requests that move money or secrets, whatever their wording.

A change of bank details, a request for the recipient's bank details,
urgency around a payment, gift cards, credentials or documents to be sent
to a new address: each is a :class:`Reason` on layer ``fraud``, in English,
German, French and Spanish. They are flagged even when the rest of the
message reads normally (that is how such mail reads), and more strongly when
the sender is not known or the Reply-To leads elsewhere. A flagged message
is never acted on automatically: a person checks by phone, on a known number.
"""

from __future__ import annotations

import re

from ._links import registrable
from ._segments import segments
from ._types import Canonical, Reason

_BANK = (r"(?:bank(?:ing)? (?:details|information|info|account|data|connection)|account (?:number|details|holder)|iban|bic|swift|"
         r"sort code|routing number|payment (?:details|information|instructions)|remittance (?:details|information)|wire instructions|"
         r"bankverbindung|bankdaten|kontodaten|kontonummer|kontoverbindung|konto|coordonnées bancaires|rib|relevé d'identité bancaire|"
         r"compte bancaire|numéro de compte|datos bancarios|cuenta bancaria|número de cuenta|cuenta)")
_NEW = (r"(?:new|updated|changed|different|alternative|alternate|correct(?:ed)?|neue[nrs]?|geänderte[nrs]?|aktualisierte[nrs]?|"
        r"andere[nrs]?|nouvel(?:le)?s?|nouveaux?|modifié(?:e)?s?|autre|nuev[oa]s?|actualizad[oa]s?|distint[oa]s?|otr[oa])")
_URGENT = (r"(?:urgent(?:ly)?|immediately|right away|asap|as soon as possible|today|within (?:24|48|72) hours|by end of day|"
           r"before (?:noon|5 ?pm|close of business)|dringend|sofort|umgehend|unverzüglich|noch heute|heute noch|urgente?|"
           r"immédiatement|aujourd'hui|sans délai|inmediatamente|hoy mismo|cuanto antes|lo antes posible)")
# money moving, not documents about it: "please send the invoice today" is an ordinary request
_PAY = (r"(?:pay(?:ment)?|wire|transfer|remit|settle|überweis\w*|zahl\w*|virement|paiement|payer|régler|transferencia|pago|"
        r"pagar)")
_SECRET = (r"(?:password|passcode|login (?:details|credentials)|credentials|username and password|pin|one-time code|2fa code|"
           r"verification code|security code|passwort|kennwort|zugangsdaten|anmeldedaten|mot de passe|identifiants|code de "
           r"vérification|contraseña|credenciales|código de verificación)")
_SEND = (r"(?:send|e-?mail|forward|re-?send|share|provide|confirm|verify|reply with|submit|upload|schick\w*|send\w*|"
         r"übermitt\w*|leite\w*|bestätig\w*|envo\w*|transf[eé]r\w*|transmet\w*|confirm\w*|fournir|fournissez|envía\w*|envia\w*|"
         r"mand\w*|reenví\w*|proporcion\w*|comparte)")
_DOCS = (r"(?:invoices?|documents?|contracts?|w-?9|tax forms?|payroll|pay ?slips?|statements?|rechnungen|unterlagen|dokumente|"
         r"verträge|factures?|contrats?|facturas|documentos|contratos)")
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")

_PATTERNS: tuple[tuple[str, float, re.Pattern[str]], ...] = tuple((name, score, re.compile(p, re.I)) for name, score, p in (
    ("bank_details_change", 0.8, rf"\b{_NEW}\b.{{0,40}}\b{_BANK}\b|\b{_BANK}\b.{{0,60}}\b(?:has|have|was|were|will be|is being|"
     rf"hat sich|haben sich|wurde|wurden|a été|ont été|ha sido|han sido|ha cambiado|han cambiado) ?(?:changed|updated|"
     rf"moved|geändert|aktualisiert|changé|modifiée?s?|cambiad[oa]s?|actualizad[oa]s?)\b|\b(?:update|change|amend|"
     rf"aktualisier\w*|änder\w*|mettez à jour|mettre à jour|modifi\w*|actualic\w*|cambi\w*)\b.{{0,40}}\b(?:your|our|the|"
     rf"ihre|unsere|die|vos|nos|les|sus|nuestr[oa]s|los)? ?(?:records|payment details|{_BANK})\b"),
    ("new_account_for_payment", 0.8, rf"\b{_NEW} (?:bank |business )?(?:account|konto|compte|cuenta)\b.{{0,60}}\b{_PAY}|"
     rf"\b{_PAY}\w*\b.{{0,60}}\b{_NEW} (?:bank |business )?(?:account|konto|compte|cuenta)\b"),
    ("bank_details_request", 0.7, rf"\b{_SEND}\b.{{0,80}}\b(?:your|ihre|deine|vos|votre|tus|sus)\b.{{0,30}}\b{_BANK}\b"),
    ("iban_in_request", 0.6, r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"),
    ("urgent_payment", 0.6, rf"\b{_URGENT}\b.{{0,60}}\b{_PAY}|\b{_PAY}\w*\b.{{0,60}}\b{_URGENT}\b"),
    ("gift_cards", 0.8, r"\b(?:gift ?cards?|itunes cards?|google play cards?|amazon (?:gift )?cards?|gutscheinkarten?|"
     r"cartes? cadeaux?|tarjetas? regalo)\b"),
    ("credentials_request", 0.8, rf"\b{_SEND}\b.{{0,60}}\b(?:your|ihre|dein\w*|vos|votre|tu|tus|su|sus)?\b.{{0,20}}{_SECRET}\b"),
    ("confidential_payment", 0.5, rf"\b(?:confidential|keep this (?:between us|quiet)|don't (?:tell|discuss|mention)|vertraulich|"
     rf"confidentiel|confidencial)\b.{{0,80}}\b{_PAY}|\b{_PAY}\w*\b.{{0,80}}\b(?:confidential|vertraulich|confidentiel|"
     rf"confidencial)\b"),
))


def fraud_signals(canonical: Canonical, *, subject: str = "", sender: str = "", known_sender: bool = True,
                  reply_to: str = "") -> list[Reason]:
    """Signs of payment or credential fraud in a message, each with the sentence that shows it (empty list: none).

    ``known_sender=False`` (an address never seen before) and a ``reply_to`` on another domain than ``sender``
    raise every score: the classic pattern is a look-alike address asking for a changed account.
    """
    boost = 0.0 if known_sender else 0.15
    sender_dom = sender.rsplit("@", 1)[-1].strip(" >").lower() if "@" in sender else ""
    out: list[Reason] = []
    if reply_to and "@" in reply_to and sender_dom:
        rdom = reply_to.rsplit("@", 1)[-1].strip(" >").lower()
        if registrable(rdom) != registrable(sender_dom):
            boost += 0.15
            out.append(Reason("fraud", f"Reply-To {reply_to} differs from the sender {sender}", "reply_to_mismatch", 0.5))
    sentences = segments(canonical.folded) + (segments(subject, "subject") if subject else [])
    seen: set[str] = set()
    for s in sentences:
        for name, score, pattern in _PATTERNS:
            if name in seen:
                continue
            m = pattern.search(s.text)
            if not m:
                continue
            if name == "iban_in_request" and not re.search(rf"\b{_NEW}\b|\b{_PAY}", s.text, re.I):
                continue  # an IBAN in a signature or an invoice footer is normal
            seen.add(name)
            out.append(Reason("fraud", s.text[:500], f"{name}: {m.group(0)[:100]}", min(1.0, score + boost), s.where))
        for m in _EMAIL.finditer(s.text):
            dom = m.group(1).lower()
            if ("documents_to_new_address" not in seen and sender_dom and registrable(dom) != registrable(sender_dom)
                    and re.search(rf"\b{_SEND}\b", s.text, re.I) and re.search(rf"\b{_DOCS}\b|\b{_BANK}\b|{_SECRET}", s.text, re.I)):
                seen.add("documents_to_new_address")
                out.append(Reason("fraud", s.text[:500], f"documents_to_new_address: {m.group(0)}", min(1.0, 0.7 + boost), s.where))
    return sorted(out, key=lambda r: -r.score)
