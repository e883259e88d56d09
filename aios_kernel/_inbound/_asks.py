"""Does a message wait for an answer, or does it settle its thread?

Read on the newest message only (``Canonical.latest``: quoted history and
forwards cut off). A sentence asks when it is a question to the reader or a
request ("could you", "please send", "let me know", "hätten Sie", "pourriez-
vous", "¿podrías" ...); a question without "you" in a bulk footer or a
newsletter teaser ("Does it work, or ...?") counts for little. A message
settles its thread when it confirms what was proposed ("Wednesday 18th at
9:30 it is", "sounds good, see you then", "thanks, received") and asks
nothing new. Both can hold: a confirmation that adds "could you bring a
print-out?" settles the date and still asks.
"""

from __future__ import annotations

import re

from ._segments import segments
from ._types import Ask, Canonical

_YOU = re.compile(r"\b(?:you|your|yours|u|sie|ihnen|ihr|du|dich|dir|euch|vous|votre|vos|tu|toi|te|ton|ta|tes|usted|ustedes|"
                  r"tú|ti|tus|su|sus|os|vosotros)\b", re.I)
_REQUEST = re.compile(
    r"^(?:hi \w+,? |so |and |also,? |oh,? |ps:? |p\.s\.:? )?(?:please|kindly|could you|can you|would you|will you|could we|can we|"
    r"shall we|should we|would it be possible|is it possible|do you|did you|are you|have you|let me know|let us know|"
    r"i'd (?:love|like) to know|i would appreciate|it would be (?:great|good|helpful) (?:to|if)|looking forward to (?:hearing|"
    r"your)|bitte|könnten sie|können sie|würden sie|hätten sie|haben sie|könntest du|kannst du|gib mir bescheid|"
    r"geben sie mir bescheid|pourriez-vous|pouvez-vous|pourrais-tu|peux-tu|merci de|veuillez|seriez-vous|auriez-vous|"
    r"¿?podrías|¿?puedes|¿?podría|¿?puede|por favor|¿?tendrías|avísame|avíseme)\b", re.I)
_SETTLE = re.compile(
    r"\bit is[.!]?\s*$|\b(?:it's a date|that works(?: for (?:me|us))?|works for (?:me|us)|sounds (?:good|great|perfect)|see you (?:then|there|"
    r"on|next)|looking forward to (?:it|seeing you)|(?:thanks|thank you),? (?:received|got it)|received,? thanks|noted,? "
    r"thanks|all set|confirmed|is perfect|perfect(?:,|!|\.| —| -)|great,? thanks|no need to reply|no reply needed|no action "
    r"(?:is )?(?:required|needed)|passt|abgemacht|bis dann|einverstanden|c'est noté|parfait|ça marche|à bientôt|perfecto|"
    r"de acuerdo|nos vemos)\b", re.I)
_BULK = re.compile(r"\bunsubscribe\b|\byou(?:'re| are) receiving this\b|\bview (?:this e-?mail )?in (?:your )?browser\b|"
                   r"\bmanage (?:your )?preferences\b|\babmelden\b|\bse désabonner\b|\bdarse de baja\b", re.I)
_NO_REPLY = re.compile(r"\b(?:do not|don't|please do not) reply\b|\bno[- ]?reply\b|\bnicht antworten\b|\bne pas répondre\b|"
                       r"\bno respond", re.I)


def asks(canonical: Canonical) -> Ask:
    """Whether the newest message of ``canonical`` waits for an answer, what it asks, and whether it settles the thread."""
    text = canonical.latest or canonical.text
    bulk = bool(_BULK.search(canonical.text)) or bool(_NO_REPLY.search(canonical.text))
    questions: list[str] = []
    weights: list[float] = []
    reasons: list[str] = []
    settles = False
    addressed = 0
    for seg in segments(text):
        s = seg.text
        if len(s) > 600:
            continue
        is_question = s.rstrip(" )\"'”»").endswith("?")
        is_request = bool(_REQUEST.match(s))
        if is_question or is_request:
            direct = bool(_YOU.search(s) or is_request)
            addressed += direct
            w = 0.9 if direct else 0.6
            if bulk:
                w *= 0.4  # teasers and footers of bulk mail ask nobody in particular
            questions.append(s)
            weights.append(w)
        elif _SETTLE.search(s):
            settles = True
            reasons.append(f"settles: {s[:80]}")
    if bulk:
        reasons.append("bulk or no-reply mail: its questions are not addressed to the reader")
    confidence = 1.0
    for w in weights:
        confidence *= 1 - w
    p_ask = 1 - confidence
    expects = p_ask >= 0.5
    if expects:
        reasons.insert(0, f"{len(questions)} sentence(s) ask the reader")
    elif not questions:
        reasons.insert(0, "no question or request to the reader")
    conf = p_ask if expects else 1 - p_ask
    return Ask(expects, round(conf, 3), tuple(questions), settles, tuple(reasons), addressed)
