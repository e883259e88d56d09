"""LoCoMo conversations as memories, and the retrieval score used on this project.

The data is read from ``../shared/data/locomo/`` (or ``$AIOS_LOCOMO``),
never copied into the project. Protocol (the data's README): one fresh
workspace per conversation; every turn remembered as ``"{speaker}: {text}"``
with meta ``{dia_id, speaker, session}`` and event time the session's date;
each question of categories 1-4 with evidence recalled with k; recall@k is
``|evidence & retrieved dia_ids| / |evidence|``, averaged over questions.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def data_path() -> Path:
    env = os.environ.get("AIOS_LOCOMO")
    return Path(env) if env else REPO.parent / "shared" / "data" / "locomo" / "locomo_dev.json"


@dataclass
class Conversation:
    sample_id: str
    turns: list[dict[str, Any]]  # items for remember_many
    questions: list[tuple[str, set[str]]]


def conversations(path: Path | None = None) -> Iterator[Conversation]:
    from aios_kernel._memory._timeparse import parse_datetime

    for conv in json.loads((path or data_path()).read_text(encoding="utf-8")):
        c = conv["conversation"]
        sessions = sorted((int(m.group(1)), k) for k in c if (m := re.fullmatch(r"session_(\d+)", k)))
        turns = []
        for n, key in sessions:
            when = parse_datetime(c.get(f"{key}_date_time", ""))
            for t in c[key]:
                turns.append({"text": f"{t['speaker']}: {t['text']}", "kind": "turn",
                              "meta": {"dia_id": t["dia_id"], "speaker": t["speaker"], "session": key},
                              "event_time": when})
        qs = [(q["question"], set(q["evidence"])) for q in conv["qa"]
              if q.get("category") in (1, 2, 3, 4) and q.get("evidence")]
        yield Conversation(conv["sample_id"], turns, qs)


def recall_at(retrieved: list[list[str]], questions: list[tuple[str, set[str]]], k: int) -> float:
    scores = [len(ev & set(r[:k])) / len(ev) for r, (_, ev) in zip(retrieved, questions)]
    return sum(scores) / max(1, len(scores))


def score(conv: Conversation, search: Callable[[str, int], list[str]], ks: tuple[int, ...] = (5, 10)) -> dict[int, list[float]]:
    """Per-question recall@k for each k; ``search(question, k) -> dia_ids``."""
    out: dict[int, list[float]] = {k: [] for k in ks}
    for q, ev in conv.questions:
        got = search(q, max(ks))
        for k in ks:
            ids = search(q, k) if k != max(ks) else got
            out[k].append(len(ev & set(ids[:k])) / len(ev))
    return out
