"""Rebuild the learned prompt-injection head: ``python -m aios_kernel._inbound.train``.

Reads ``data/examples.txt`` (sentences written for this project, see its
header), embeds them with the workspace default embedder (int8 MiniLM, the
vectors memory uses), fits an L2-regularised logistic regression by Newton's
method (deterministic: same file, same machine, same head), chooses the
thresholds from five-fold out-of-fold scores of the benign sentences (one for
English, one for other languages: the embedder is English), and writes
``data/head.json``. Nothing else is read: no benchmark data.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from .._errors import ValidationError
from ._detect import MIN_WORDS
from ._lang import language
from ._learned import EXAMPLES_PATH, HEAD_PATH

LABELS = {"injection": 1, "benign": 0}
MODEL = "all-MiniLM-L6-v2"
INT8 = True
L2 = 0.3
FOLDS = 5
BENIGN_FPR = 0.01
"""Out-of-fold share of benign sentences allowed over the threshold: a message has tens of sentences."""
MIN_THRESHOLD = 0.5


def read_examples(path: Path = EXAMPLES_PATH) -> list[tuple[str, int, int]]:
    """``(sentence, label, line)`` of the examples file, templates expanded in order (a template's sentences share its line)."""
    out: list[tuple[str, int, int]] = []
    label: int | None = None
    slots: dict[str, list[str]] = {}
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            if line[1:-1] not in LABELS:
                raise ValidationError(f"{path}, line {n}: unknown section {line}; use [injection] or [benign]", field="section")
            label = LABELS[line[1:-1]]
            continue
        if line.startswith("@"):
            name, _, values = line[1:].partition(":")
            slots[name.strip()] = [v.strip() for v in values.split("|") if v.strip()]
            continue
        if label is None:
            raise ValidationError(f"{path}, line {n}: a sentence before any [section]", field="section")
        names = re.findall(r"\{(\w+)\}", line)
        if not names:
            out.append((line, label, n))
            continue
        unknown = [s for s in names if s not in slots]
        if unknown:
            raise ValidationError(f"{path}, line {n}: slot {unknown[0]!r} is not defined above it", field="slot")
        longest = max(len(slots[s]) for s in names)
        cycles = {s: itertools.cycle(slots[s]) for s in dict.fromkeys(names)}
        for _ in range(longest):
            values = {s: next(c) for s, c in cycles.items()}
            out.append((line.format(**values), label, n))
    seen: set[str] = set()
    # the detector never asks the head about sentences shorter than MIN_WORDS, so it does not learn from them
    return [x for x in out if len(x[0].split()) >= MIN_WORDS and not (x[0] in seen or seen.add(x[0]))]


def fit(x: Any, y: Any, l2: float = L2, iterations: int = 50) -> tuple[Any, float]:
    """L2-regularised logistic regression by Newton's method, classes weighted to balance."""
    import numpy as np

    n, d = x.shape
    pos = y.sum()
    sample_w = np.where(y == 1, n / (2 * pos), n / (2 * (n - pos)))
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -40, 40)))
        grad = xb.T @ (sample_w * (p - y)) + reg * w
        hess = (xb * (sample_w * p * (1 - p))[:, None]).T @ xb + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w[:-1], float(w[-1])


def out_of_fold(x: Any, y: Any, groups: Any) -> Any:
    """Scores of every example from a head that did not see it, nor any sentence of the same template.

    Folds go by source line, so the expansions of one template are never split between training and
    testing (that would grade the head on sentences it has nearly seen); deterministic.
    """
    import numpy as np

    scores = np.zeros(len(y))
    folds = np.asarray(groups) % FOLDS
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        w, b = fit(x[train], y[train])
        scores[test] = 1.0 / (1.0 + np.exp(-(x[test] @ w + b)))
    return scores


def train(examples: Path = EXAMPLES_PATH, out: Path = HEAD_PATH, *, quiet: bool = False) -> dict[str, Any]:
    """Embed the examples, fit the head, choose its threshold and write it; returns what was written (less the weights)."""
    import numpy as np

    from .._models._embedding import load_embedder, torch_threads, usable_cores

    t0 = time.perf_counter()
    pairs = read_examples(examples)
    texts = [t for t, _, _ in pairs]
    y = np.array([lab for _, lab, _ in pairs], dtype=np.float64)
    emb = load_embedder(MODEL, int8=INT8)
    with torch_threads(usable_cores()):
        x = emb.encode(texts, batch_size=64).astype(np.float64)
    oof = out_of_fold(x, y, [g for _, _, g in pairs])
    # the embedder is English: other languages sit apart in its space, so each side gets its own threshold
    group = np.array(["en" if language(t) == "en" else "other" for t in texts])
    thresholds: dict[str, float] = {}
    cv: dict[str, Any] = {"folds": FOLDS}
    for g in ("en", "other"):
        benign = np.sort(oof[(y == 0) & (group == g)])
        t = float(benign[int(np.ceil(len(benign) * (1 - BENIGN_FPR))) - 1]) + 1e-6 if len(benign) else 1.0
        thresholds[g] = round(max(MIN_THRESHOLD, t), 6)
        cv[g] = {"recall": round(float((oof[(y == 1) & (group == g)] >= thresholds[g]).mean()), 4),
                 "benign_fpr": round(float((oof[(y == 0) & (group == g)] >= thresholds[g]).mean()), 4),
                 "examples": int((group == g).sum())}
    w, b = fit(x, y)
    head = {
        "model": MODEL, "int8": INT8, "model_id": emb.model_id, "bias": round(b, 8), "threshold": thresholds["en"],
        "thresholds": thresholds, "examples": {"injection": int(y.sum()), "benign": int(len(y) - y.sum())},
        "examples_sha256": hashlib.sha256(examples.read_bytes()).hexdigest(),
        "cross_validation": cv, "l2": L2, "weights": [round(float(v), 8) for v in w],
    }
    out.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    info = {k: v for k, v in head.items() if k != "weights"}
    if not quiet:
        print(f"{len(texts)} sentences ({info['examples']['injection']} injection, {info['examples']['benign']} benign) in "
              f"{time.perf_counter() - t0:.1f}s; " + "; ".join(
                  f"{g}: threshold {thresholds[g]:.3f}, {FOLDS}-fold recall {cv[g]['recall']:.3f} at benign FPR "
                  f"{cv[g]['benign_fpr']:.4f} ({cv[g]['examples']} sentences)" for g in thresholds) + f"; wrote {out}")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aios_kernel._inbound.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=Path, default=EXAMPLES_PATH, help="labelled sentences (default: the shipped file)")
    parser.add_argument("--out", type=Path, default=HEAD_PATH, help="where to write the head (default: the shipped file)")
    ns = parser.parse_args(argv)
    train(ns.examples, ns.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
