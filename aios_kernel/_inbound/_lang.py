"""Which language a sentence is in, roughly: English, German, French, Spanish or other.

The embedder is an English model: it places sentences of other languages in a
region of its space of their own, where benign text scores higher on the
head. So the head keeps one threshold for English and one, calibrated on its
own, for everything else. Function words decide (they are the most frequent
words of any text and differ between these four languages); a sentence
mostly in another script is ``other``.
"""

from __future__ import annotations

import re

_FUNCTION_WORDS = {
    "en": frozenset("the and of to a in is you your for that this with on are be it we our will can please have from at by "
                    "as not or if an was what how do my me i".split()),
    "de": frozenset("der die das und ist nicht ich sie wir ein eine zu mit den dem für auf im bitte ihre ihr uns es sich auch "
                    "von bei wie was noch nur oder aber vielen dank".split()),
    "fr": frozenset("le la les et est vous nous un une des du de pour dans que qui ne pas sur avec votre vos au aux merci ce "
                    "cette je tu te ton ta".split()),
    "es": frozenset("el la los las y es usted nosotros un una de del para en que no por con su sus tu tus al gracias este esta "
                    "muy hola se si a mi lo como pero más".split()),
}
_WORD = re.compile(r"[^\W\d_]+")


def language(sentence: str) -> str:
    """``en``, ``de``, ``fr``, ``es`` or ``other`` for one sentence (``en`` when there is nothing to go on)."""
    words = [w.lower() for w in _WORD.findall(sentence)]
    if not words:
        return "en"
    latin = sum(1 for w in words if w.isascii() or all("a" <= c <= "z" or "\u00c0" <= c <= "\u024f" for c in w))
    if latin < len(words) / 2:
        return "other"
    counts = {lang: sum(w in fw for w in words) for lang, fw in _FUNCTION_WORDS.items()}
    other = max(("de", "fr", "es"), key=lambda k: counts[k])
    if counts[other] > counts["en"] or (counts[other] and counts[other] == counts["en"] and not sentence.isascii()):
        return other
    return "en"
