"""The learned layer: MiniLM sentence vectors and a logistic head trained on this project's own sentences.

The head (``data/head.json``: 384 weights, a bias, the threshold and the
model it was trained on) is rebuilt by ``python -m aios_kernel._inbound.train``
from ``data/examples.txt``. It is loaded on first use and kept for the
process; so is the embedder (the one memory uses, through
:func:`aios_kernel._models._embedding.load_embedder`). Scores of sentences
seen before come from a per-process cache: automated mail repeats its
sentences, and only the new ones cost a forward pass.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .._errors import ModelError

HEAD_PATH = Path(__file__).parent / "data" / "head.json"
EXAMPLES_PATH = Path(__file__).parent / "data" / "examples.txt"
_CACHE_MAX = 50_000
_scores: dict[str, float] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Head:
    """A linear head over sentence vectors: ``sigmoid(w . v + b)`` is the chance a sentence is an injected instruction."""

    model: str
    int8: bool
    weights: Any
    bias: float
    threshold: float
    meta: dict[str, Any]
    other_threshold: float = 1.0
    """For sentences not in English, where the English embedder is less sure (see :mod:`._lang`)."""

    def threshold_for(self, sentence: str) -> float:
        from ._lang import language

        return self.threshold if language(sentence) == "en" else self.other_threshold

    def probabilities(self, vectors: Any) -> Any:
        import numpy as np

        z = vectors.astype(np.float64) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


@lru_cache(maxsize=4)
def load_head(path: str = str(HEAD_PATH)) -> Head:
    """The shipped head (cached per process); a missing or damaged file is a :class:`ModelError` saying how to rebuild it."""
    import numpy as np

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        weights = np.asarray(raw["weights"], dtype=np.float64)
        head = Head(str(raw["model"]), bool(raw["int8"]), weights, float(raw["bias"]), float(raw["threshold"]),
                    {k: v for k, v in raw.items() if k not in ("weights",)},
                    float(raw.get("thresholds", {}).get("other", raw["threshold"])))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the prompt-injection head {path} cannot be read ({exc}); rebuild it with "
                         "`python -m aios_kernel._inbound.train`", tier="inbound") from exc
    if weights.ndim != 1 or not np.all(np.isfinite(weights)):
        raise ModelError(f"the prompt-injection head {path} is damaged; rebuild it with `python -m aios_kernel._inbound.train`",
                         tier="inbound")
    return head


def embedder(head: Head) -> Any:
    """The embedding model the head was trained on (loaded once per process, shared with memory)."""
    from .._models._embedding import load_embedder

    return load_embedder(head.model, int8=head.int8)


def score(texts: Sequence[str], *, head: Head | None = None) -> list[float]:
    """The head's probability for each text (cached per process by text)."""
    if not texts:
        return []
    head = head or load_head()
    with _lock:
        missing = list(dict.fromkeys(t for t in texts if t not in _scores))
    if missing:
        from .._models._embedding import torch_threads

        # one message is a few dozen sentences: too little work to split across threads, and on a busy
        # machine two threads ran a small batch three times slower than one (as for memory's queries)
        with torch_threads(1 if len(missing) < 64 else 0):
            vectors = embedder(head).encode(missing, batch_size=64)
        probs = head.probabilities(vectors)
        with _lock:
            if len(_scores) + len(missing) > _CACHE_MAX:
                _scores.clear()
            _scores.update(zip(missing, (float(p) for p in probs)))
            return [_scores[t] if t in _scores else float(probs[missing.index(t)]) for t in texts]
    with _lock:
        return [_scores[t] for t in texts]
