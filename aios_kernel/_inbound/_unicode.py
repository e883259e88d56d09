"""Characters a reader cannot see, and letters that look like others.

Two outputs from one input: the readable text (invisible characters removed,
every script kept as written) and the folded text for detectors (NFKC, and
look-alike letters of other scripts turned into the Latin letters they
imitate, but only inside words that mix scripts or in a Latin text, so a
Russian or Greek e-mail stays Russian or Greek).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

# Zero-width and filler characters: they separate letters without showing anything, so
# "ig\u200bnore" reads as "ignore" to a person but not to a regular expression.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5"
# Bidirectional controls: overrides (U+202D/E) can show "cod.exe" as "exe.doc".
BIDI = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
BIDI_OVERRIDE = "\u202d\u202e"
# Joiners are part of Persian, Indic and emoji spelling: kept in the readable text between two
# non-ASCII letters or symbols, removed everywhere else.
JOINERS = "\u200c\u200d"

_ZW_RE = re.compile(f"[{ZERO_WIDTH}]")
# soft hyphens are hyphenation hints (German newsletters are full of them): removed, never counted as obfuscation
_ZW_IN_WORD = re.compile(f"(?<=\\w)[{ZERO_WIDTH.replace(chr(0xAD), '')}]+(?=\\w)")
_BIDI_RE = re.compile(f"[{BIDI}]")
_TAG_RE = re.compile("[\U000e0000-\U000e007f]+")
_VS_RE = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_LINE_SEPS = re.compile("[\u2028\u2029\x85]")
_MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac[\u0099\u009c\u009d\u2122\u0153\u201c\u201d\u201e\u00a6\u201a]")
_WORD = re.compile(r"\w+")


@dataclass
class Cleaned:
    """The readable text, the folded text and what was removed or folded."""

    text: str
    folded: str
    removed: dict[str, int] = field(default_factory=dict)
    smuggled: str = ""
    confusables: list[tuple[str, str]] = field(default_factory=list)
    replacement_chars: int = 0
    mojibake_repaired: bool = False


def _keep_joiner(m: re.Match[str]) -> str:
    s, i = m.string, m.start()
    before, after = s[i - 1: i], s[m.end(): m.end() + 1]
    if before and after and not before.isascii() and not after.isascii() and not before.isspace() and not after.isspace():
        return m.group(0)
    return ""


def decode_tags(run: str) -> str:
    """Unicode tag characters (U+E0020-E007E) spell ASCII no reader sees: the text they hide."""
    return "".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E)


def repair_mojibake(text: str) -> str | None:
    """UTF-8 that was read as Windows-1252 ("Ã¤" for "ä"), decoded again; None when it is not that."""
    if len(_MOJIBAKE.findall(text)) < 2:
        return None
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if len(_MOJIBAKE.findall(fixed)) < len(_MOJIBAKE.findall(text)):
            return fixed
    return None


def clean(text: str) -> Cleaned:
    """Remove what a reader cannot see from ``text``; count each kind; fold look-alikes for detectors."""
    removed: dict[str, int] = {}
    mojibake = False
    fixed = repair_mojibake(text)
    if fixed is not None:
        text, mojibake = fixed, True
    # after a black flag U+1F3F4, tag characters spell a region flag (Scotland, Wales): emoji, not smuggling
    runs = [m.group(0) for m in _TAG_RE.finditer(text) if text[m.start() - 1: m.start()] != "\U0001f3f4"]
    smuggled = " ".join(decode_tags(r) for r in runs).strip()
    removed["tag"] = sum(len(r) for r in runs)
    text = _TAG_RE.sub(lambda m: m.group(0) if text[m.start() - 1: m.start()] == "\U0001f3f4" else "", text)
    text, removed["control"] = _CONTROL_RE.subn("", _LINE_SEPS.sub("\n", text.replace("\r\n", "\n").replace("\r", "\n")))
    in_words = sum(len(m) for m in _ZW_IN_WORD.findall(text))
    removed["bidi_override"] = sum(text.count(c) for c in BIDI_OVERRIDE)
    text, removed["bidi"] = _BIDI_RE.subn("", text)
    before = len(text)
    readable = re.sub(f"[{JOINERS}]+", _keep_joiner, text)
    readable = _ZW_RE.sub(lambda m: m.group(0) if m.group(0) in JOINERS else "", readable)
    removed["zero_width"] = before - len(readable)
    # joiners kept inside Persian or Indic words are spelling, not obfuscation
    removed["zero_width_in_words"] = in_words - sum(len(m) for m in _ZW_IN_WORD.findall(readable))
    removed["variation_selector"] = len(_VS_RE.findall(readable))
    readable = _SPACES.sub(" ", readable)
    folded_base = _VS_RE.sub("", _ZW_RE.sub("", readable))
    folded, pairs = fold_confusables(unicodedata.normalize("NFKC", folded_base))
    removed = {k: v for k, v in removed.items() if v}
    return Cleaned(unicodedata.normalize("NFC", readable), folded, removed, smuggled, pairs, readable.count("\ufffd"), mojibake)


@lru_cache(maxsize=1)
def _confusable_map() -> dict[str, str]:
    """Non-Latin letters that look like one ASCII letter or digit, from the Unicode confusables table."""
    from confusable_homoglyphs import categories, confusables

    out: dict[str, str] = {}
    for ch, entries in confusables.confusables_data.items():
        if len(ch) != 1 or ch.isascii() or categories.alias(ch) in ("LATIN", "COMMON", "INHERITED"):
            continue
        for e in entries:
            c = e["c"]
            if len(c) == 1 and c.isascii() and c.isalpha():
                out[ch] = c
                break
    return out


def _script(ch: str) -> str:
    from confusable_homoglyphs import categories

    try:
        return categories.alias(ch) or "UNKNOWN"
    except (KeyError, IndexError):  # characters newer than the library's table
        return "UNKNOWN"


def fold_confusables(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Fold look-alike letters to Latin in words that mix scripts (or in a mostly Latin text).

    "pаypal" with a Cyrillic "а" becomes "paypal"; "Дом" in a Russian text stays as it is.
    """
    if text.isascii():
        return text, []
    table = _confusable_map()
    share: list[bool] = []

    def mostly_latin() -> bool:  # counted only when a word needs it: most texts never ask
        if not share:
            latin = sum(1 for c in text if c.isascii() and c.isalpha())
            share.append(latin / (sum(1 for c in text if c.isalpha()) or 1) >= 0.6)
        return share[0]

    pairs: list[tuple[str, str]] = []

    def one(m: re.Match[str]) -> str:
        word = m.group(0)
        if word.isascii():
            return word
        scripts = {_script(c) for c in word if c.isalpha()} - {"COMMON", "INHERITED"}
        mixed = "LATIN" in scripts and len(scripts) > 1
        alien = "LATIN" not in scripts and all(c in table for c in word if c.isalpha()) and mostly_latin()
        if not (mixed or alien):
            return word
        out = "".join(table.get(c, c) if _script(c) != "LATIN" else c for c in word)
        if out != word:
            pairs.append((word, out))
        return out

    return _WORD.sub(one, text), pairs
