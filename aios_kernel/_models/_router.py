"""The router tier: cheap intent and label decisions.

Rules first: each label has keywords and phrases; the best-scoring label wins
and the margin over the runner-up is the confidence. When no rule matches
(and ``[models] router`` allows it) the text goes to the nearest centroid of
the labels' seed phrases in embedding space (all-MiniLM-L6-v2), which needs
no training data. Deterministic either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._embedding import DEFAULT_MODEL


@dataclass(frozen=True)
class Route:
    """The chosen label, how sure, and by which method."""

    label: str
    confidence: float
    method: str
    scores: dict[str, float] = field(default_factory=dict)
    matched: tuple[str, ...] = ()


def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])" + re.escape(phrase.lower()) + r"(?![\w])")


class Router:
    """Classify texts against labels described by keywords (see the module docstring)."""

    def __init__(self, mode: str = "auto", embedding: str = DEFAULT_MODEL, *, int8: bool = True) -> None:
        self.mode = mode
        self.embedding = embedding
        self.int8 = int8
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._centroids: dict[tuple[Any, ...], Any] = {}
        self.embedding_calls = 0

    def _match(self, text: str, phrases: Sequence[str]) -> list[str]:
        hits = []
        for p in phrases:
            pat = self._patterns.get(p)
            if pat is None:
                pat = self._patterns[p] = _pattern(p)
            if pat.search(text):
                hits.append(p)
        return hits

    def rules(self, text: str, labels: Mapping[str, Sequence[str]]) -> Route | None:
        low = text.lower()
        scores: dict[str, float] = {}
        matched: dict[str, list[str]] = {}
        for label, phrases in labels.items():
            hits = self._match(low, phrases)
            # Multi-word phrases are more specific than single words: they weigh more.
            scores[label] = float(sum(1 + p.count(" ") for p in hits))
            matched[label] = hits
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], list(labels).index(kv[0])))
        if not ranked or ranked[0][1] == 0:
            return None
        top, second = ranked[0][1], (ranked[1][1] if len(ranked) > 1 else 0.0)
        confidence = min(0.95, 0.5 + 0.5 * (top - second) / top)
        return Route(ranked[0][0], round(confidence, 3), "rules", scores, tuple(matched[ranked[0][0]]))

    def nearest_centroid(self, text: str, labels: Mapping[str, Sequence[str]]) -> Route:
        import numpy as np

        from ._embedding import load_embedder

        emb = load_embedder(self.embedding, int8=self.int8)
        key = tuple((k, tuple(v)) for k, v in labels.items())
        if key not in self._centroids:
            cents = []
            for phrases in labels.values():
                vecs = emb.encode(list(phrases) or [""])
                c = vecs.mean(axis=0)
                cents.append(c / (np.linalg.norm(c) or 1.0))
            self._centroids[key] = np.stack(cents)
        vec = emb.encode([text[:2000]])[0]
        sims = self._centroids[key] @ vec
        self.embedding_calls += 1
        order = np.argsort(-sims)
        names = list(labels)
        top, second = float(sims[order[0]]), float(sims[order[1]]) if len(order) > 1 else 0.0
        confidence = max(0.3, min(0.8, 0.4 + 2.0 * (top - second)))
        scores = {n: round(float(s), 4) for n, s in zip(names, sims, strict=True)}
        return Route(names[order[0]], round(confidence, 3), "embedding", scores)

    def classify(self, text: str, labels: Mapping[str, Sequence[str]], *, default: str = "other") -> Route:
        """The best label for ``text``; ``default`` with low confidence when nothing fits."""
        if self.mode in ("auto", "rules"):
            route = self.rules(text, labels)
            if route is not None:
                return route
        if self.mode in ("auto", "embedding"):
            try:
                return self.nearest_centroid(text, labels)
            except Exception:  # noqa: BLE001  (no embedding model here: rules are the answer)
                pass
        return Route(default, 0.3, "default", {})
