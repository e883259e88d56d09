"""Keyword retrieval: a small BM25 (Okapi) kept in memory, updated in place.

Documents are slots (positions in the retrieval catalog). Postings are
appended as documents arrive and turned into numpy arrays per term on first
use; removing a document lowers the document frequencies at once and its
stale postings are masked out until the next compaction. Tokens are
Unicode words, lower-cased (Latin letters folded to ASCII with anyascii, so
"Müller" and "Muller", "Økodesign" and "Okodesign" meet; other scripts
case-folded, accents stripped); English words lose stop words and
pass a light suffix stemmer so "plans", "planned" and "planning" meet.
Chinese and Japanese, written without spaces, become overlapping character
pairs ("北京咨询" -> "北京", "京咨", "咨询"), the usual way to index them
without a word segmenter. Cyrillic, Greek and other scripts stay words.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Any

STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being below between both
but by can could did didn't do does doesn't doing don't down during each few for from further had has have having he
her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself just let's me
more most my myself no nor not now of off on once only or other our ours ourselves out over own same she should so
some such than that that's the their theirs them themselves then there there's these they they'd they'll they're
they've this those through to too under until up very was wasn't we we'd we'll we're we've were weren't what what's
when when's where where's which while who who's whom why why's will with would you you'd you'll you're you've your
yours yourself yourselves also yes yeah oh ok okay hey hi really so much thing things get got go going gonna lot
""".split())

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_CJK = re.compile("[\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def stem(word: str) -> str:
    """A light English suffix stripper (plural, -ing, -ed, -ly); keeps short words whole."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl, min_stem in (("ies", "y", 2), ("sses", "ss", 2), ("ness", "", 3), ("ing", "", 3), ("edly", "", 3),
                                   ("ed", "", 3), ("ly", "", 3), ("es", "", 3), ("s", "", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "zes", "sses")):
                continue
            out = word[: len(word) - len(suffix)] + repl
            if suffix in ("ing", "ed", "edly") and len(out) > 2 and out[-1] == out[-2] and out[-1] not in "lsz":
                out = out[:-1]  # planning -> plann -> plan
            return out
    return word


_STEM_CACHE: dict[str, str] = {}


def _unicode_terms(word: str) -> list[str]:
    """Terms of a word with non-ASCII letters: CJK runs as character pairs, accents off Latin letters."""
    if _CJK.search(word):
        out: list[str] = []
        pos = 0
        for m in _CJK.finditer(word):
            out.extend(_unicode_terms(word[pos: m.start()]) if m.start() > pos else [])
            run = m.group(0)
            out.extend([run] if len(run) == 1 else [run[i: i + 2] for i in range(len(run) - 1)])
            pos = m.end()
        out.extend(_unicode_terms(word[pos:]) if pos < len(word) else [])
        return out
    if all(not c.isalpha() or c.isascii() or unicodedata.name(c, "").startswith("LATIN") for c in word):
        from anyascii import anyascii  # Latin letters to ASCII: "ø" -> "o", "ß" -> "ss", "ł" -> "l"

        return [anyascii(word).lower()]
    folded = unicodedata.normalize("NFKD", word.casefold())
    folded = unicodedata.normalize("NFC", "".join(c for c in folded if not unicodedata.combining(c)))
    return [folded] if folded else []


def tokenize(text: str) -> list[str]:
    """Stemmed, lower-cased content words of ``text`` (character pairs for Chinese and Japanese)."""
    out = []
    for w in _WORD.findall(text.lower().replace("\u2019", "'")):
        if w.endswith("'s"):
            w = w[:-2]
        if w in STOP_WORDS or not w:
            continue
        s = _STEM_CACHE.get(w)
        if s is None:
            if w.isascii():
                s = stem(w)
            else:
                terms = [stem(t) if t.isascii() and t not in STOP_WORDS else t for t in _unicode_terms(w)]
                s = " ".join(t for t in terms if t and t not in STOP_WORDS)
            _STEM_CACHE[w] = s
        if s:
            out.extend(s.split(" ") if " " in s else (s,))
    return out


class BM25:
    """An incremental BM25 index over integer slots."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._post: dict[str, tuple[list[int], list[int]]] = {}
        self._arrays: dict[str, tuple[Any, Any]] = {}
        self.df: Counter[str] = Counter()
        import numpy as np

        self.lengths = np.zeros(1024, dtype=np.float32)
        self.alive = np.zeros(1024, dtype=bool)
        self.n_docs = 0
        self.total_len = 0

    def _grow(self, slot: int) -> None:
        import numpy as np

        if slot >= len(self.lengths):
            size = max(slot + 1, 2 * len(self.lengths))
            self.lengths = np.concatenate([self.lengths, np.zeros(size - len(self.lengths), np.float32)])
            self.alive = np.concatenate([self.alive, np.zeros(size - len(self.alive), bool)])

    def add(self, slot: int, tokens: list[str]) -> None:
        self._grow(slot)
        if self.alive[slot]:
            raise ValueError(f"slot {slot} already holds a document")
        counts = Counter(tokens)
        for term, tf in counts.items():
            post = self._post.get(term)
            if post is None:
                post = self._post[term] = ([], [])
            post[0].append(slot)
            post[1].append(tf)
            self._arrays.pop(term, None)
            self.df[term] += 1
        self.lengths[slot] = len(tokens)
        self.alive[slot] = True
        self.n_docs += 1
        self.total_len += len(tokens)

    def remove(self, slot: int, tokens: list[str]) -> None:
        if slot >= len(self.alive) or not self.alive[slot]:
            return
        for term in set(tokens):
            self.df[term] -= 1
        self.alive[slot] = False
        self.n_docs -= 1
        self.total_len -= int(self.lengths[slot])

    def prepare(self) -> None:
        """Turn every term's postings into arrays now (after a bulk load), so that no query pays for it."""
        import numpy as np

        for term, (slots, tfs) in self._post.items():
            if term not in self._arrays:
                self._arrays[term] = (np.asarray(slots, dtype=np.int64), np.asarray(tfs, dtype=np.float32))

    def idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5)) if df > 0 else 0.0

    def scores(self, terms: list[str] | dict[str, float], size: int) -> Any:
        """BM25 score of every slot (``size`` long) for query ``terms`` (a list, or term -> weight)."""
        import numpy as np

        out = np.zeros(size, dtype=np.float32)
        if not self.n_docs:
            return out
        weights = Counter(terms) if isinstance(terms, list) else terms
        avg = self.total_len / max(1, self.n_docs)
        k1, b = self.k1, self.b
        for term, qw in weights.items():
            idf = self.idf(term)
            if idf <= 0:
                continue
            arr = self._arrays.get(term)
            if arr is None:
                post = self._post.get(term)
                if not post:
                    continue
                arr = self._arrays[term] = (np.asarray(post[0], dtype=np.int64), np.asarray(post[1], dtype=np.float32))
            slots, tf = arr
            inside = slots < size
            slots, tf = slots[inside], tf[inside]
            norm = k1 * (1 - b + b * self.lengths[slots] / max(avg, 1e-9))
            out[slots] += (qw * idf) * tf * (k1 + 1) / (tf + norm) * self.alive[slots]
        return out
