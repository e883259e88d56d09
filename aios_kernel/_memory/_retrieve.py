"""Layered retrieval: filters, keyword and semantic candidates, fusion, episodes.

1. **Filters** (exact): tier, kind, client, project, time range and any meta
   key (``where``) become a mask over catalog slots; forgotten, expired and
   purged memories are never in it.
2. **Candidates**: BM25 over the masked slots, and faiss inner product over
   the same set (an id selector restricts faiss to it).
3. **Fusion**: each list's scores are rescaled to [0, 1] over the list (top
   score 1, the list's last 0) and added with weights, so a memory both
   layers found outranks one only a single layer likes. Optional
   pseudo-relevance feedback (off by default: it lowered recall on
   conversational data) adds the top memories' strongest terms to the
   keyword query and their mean vector to the semantic one.
4. **Episodes**: a memory up to two places from a strong hit in the same
   episode (meta ``session``/``thread_id``...) gets a share of the hit's score, since the
   turn that answers a question is often beside the one that matches it.
5. **Who and when**: when the query names a speaker (a value of meta
   ``speaker``/``author``/``from``/``sender``), that speaker's memories get
   a boost, and the name is left out of the semantic query (it is matched
   exactly here instead); when the query holds date words ("last week", "in May 2023"), memories
   whose event time falls in the window do. Both come after the episode
   step, so a boosted hit does not drag its neighbours up with it.
6. Identical texts are returned once.

Every hit carries ``why``: the layers that found it and their scores.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._bm25 import tokenize
from ._catalog import Catalog
from ._timeparse import TimeWindow, query_window

Dense = Callable[[str, int, Any, "list[int] | None", float], "tuple[Any, Any]"]
"""``dense(text, n, mask, feedback_slots, feedback_weight) -> (slots, cosines)``."""


@dataclass
class RetrievalParams:
    """The knobs of :func:`rank`; the defaults are the shipped method."""

    dense_k: int = 100
    bm25_k: int = 100
    w_dense: float = 1.0
    w_bm25: float = 1.4
    prf_docs: int = 0
    prf_terms: int = 8
    prf_weight: float = 0.3
    prf_dense: float = 0.0
    expand_width: int = 2
    expand_share: float = 0.6
    expand_decay: float = 1.0
    speaker_boost: float = 0.5
    speaker_keys: tuple[str, ...] = ("speaker", "author", "from", "sender")
    time_boost: float = 0.5
    strip_names: bool = True
    dedup: bool = True


@dataclass
class Ranked:
    slot: int
    score: float
    why: dict[str, Any] = field(default_factory=dict)


def scale(scores: Any) -> Any:
    """Scores as a share of the list's range, so two layers' lists can be added."""
    np = __import__("numpy")
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    top, low = float(scores.max()), float(scores.min())
    if top - low <= 1e-9:
        return np.ones_like(scores)
    return (scores - low) / (top - low)


def top_slots(scores: Any, k: int, mask: Any) -> tuple[Any, Any]:
    """The ``k`` best positive-scoring slots inside ``mask``, best first."""
    np = __import__("numpy")
    s = np.where(mask, scores[: len(mask)], 0.0)
    nz = np.flatnonzero(s > 0)
    if len(nz) > k:
        nz = nz[np.argpartition(-s[nz], k - 1)[:k]]
    order = nz[np.argsort(-s[nz], kind="stable")]
    return order, s[order]


def fuse(lists: list[tuple[str, float, Any, Any]]) -> tuple[dict[int, float], dict[int, dict[str, Any]]]:
    """Weighted sum of rescaled scores; ``lists`` holds (layer, weight, slots, raw scores)."""
    fused: dict[int, float] = {}
    why: dict[int, dict[str, Any]] = {}
    for layer, weight, slots, raw in lists:
        for r, (s, v, n) in enumerate(zip(slots, raw, scale(raw))):
            s = int(s)
            fused[s] = fused.get(s, 0.0) + weight * float(n)
            w = why.setdefault(s, {"layers": []})
            w["layers"].append(layer)
            w[layer] = round(float(v), 4)
            w[f"{layer}_rank"] = r + 1
    return fused, why


def rank(cat: Catalog, query: str, k: int, mask: Any, dense: Dense, p: RetrievalParams, *,
         now: datetime | None = None, window: TimeWindow | None = None) -> list[Ranked]:
    """The ``k`` best slots in ``mask`` for ``query``, each with its score and ``why``."""
    terms = dict(Counter(tokenize(query)))
    named, names = cat.named_in(query, p.speaker_keys) if p.speaker_boost or p.strip_names else (None, [])
    dense_text = query
    if p.strip_names and names:
        # The speaker is matched exactly below; left in, the name pulls the
        # semantic search toward every memory that merely mentions them.
        stripped = re.sub(r"\b(?:" + "|".join(map(re.escape, names)) + r")(?:'s|\u2019s)?\b", " ", query, flags=re.I)
        dense_text = " ".join(stripped.split()) or query
    if window is None:
        window = query_window(query, now)

    def candidates(bm_terms: dict[str, float], feedback: list[int] | None) -> tuple[dict[int, float], dict[int, dict[str, Any]]]:
        lists = []
        if bm_terms and p.w_bm25:
            b_slots, b_raw = top_slots(cat.bm25.scores(bm_terms, cat.size), p.bm25_k, mask)
            lists.append(("bm25", p.w_bm25, b_slots, b_raw))
        if p.w_dense:
            d_slots, d_raw = dense(dense_text, p.dense_k, mask, feedback, p.prf_dense)
            lists.append(("dense", p.w_dense, d_slots, d_raw))
        return fuse(lists)

    fused, why = candidates(terms, None)
    if p.prf_docs and fused:
        top = sorted(fused, key=fused.__getitem__, reverse=True)[: p.prf_docs]
        extra: Counter[str] = Counter()
        for s in top:
            for t, tf in Counter(tokenize(cat.texts[s])).items():
                if t not in terms:
                    extra[t] += tf * cat.bm25.idf(t)
        expanded = dict(terms)
        expanded.update({t: p.prf_weight for t, _ in extra.most_common(p.prf_terms)})
        fused, why = candidates(expanded, top if p.prf_dense else None)
        for w in why.values():
            w["prf"] = True
    if p.expand_width and fused:
        for s in sorted(fused, key=fused.__getitem__, reverse=True)[: max(k, 10)]:
            base = fused[s] * p.expand_share
            for nb, dist in cat.neighbours(s, p.expand_width):
                share = base * p.expand_decay ** (dist - 1)
                if mask[nb] and fused.get(nb, 0.0) < share:
                    fused[nb] = share
                    w = why.setdefault(nb, {"layers": []})
                    if "episode" not in w["layers"]:
                        w["layers"].append("episode")
                    w["expanded_from"] = cat.ids[s]
    if p.speaker_boost and fused and named is not None:
        for s in fused:
            if named[s]:
                fused[s] += p.speaker_boost
                why[s]["speaker"] = True
    if window is not None and p.time_boost and fused:
        lo, hi = window.start.timestamp(), window.end.timestamp()
        for s in fused:
            if lo <= cat.ts[s] < hi:
                fused[s] += p.time_boost
                why[s]["time"] = window.phrase
    out: list[Ranked] = []
    seen: set[str] = set()
    for s in sorted(fused, key=lambda s: (-fused[s], cat.order[s])):
        if p.dedup:
            if cat.hashes[s] in seen:
                continue
            seen.add(cat.hashes[s])
        w = why[s]
        w["fused"] = round(fused[s], 4)
        out.append(Ranked(s, fused[s], w))
        if len(out) >= k:
            break
    return out
