"""Condensation: a session or thread summarised into facts, stored with provenance.

The records of one episode (meta ``session``/``thread_id``), one kernel
session, or a list of ids are put in time order and summarised by the local
model through ``wb.models.generate`` (response cache, cost accounting, never
remote for sensitive records). Each line of the answer becomes a ``fact`` in
the working tier whose ``derived_from`` lists every source record. When the
model is unavailable, too slow, or says nothing usable, an extractive
summary takes its place: the sentences that share the most content words
with the rest of the episode, in their original order. Deterministic, so
the same records always give the same facts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import NotFoundError, ValidationError
from ._bm25 import tokenize
from ._types import MemoryRef, memory_id_of

if TYPE_CHECKING:
    from ._api import Memory

SYSTEM = "You summarise conversations and notes into short factual statements."
PROMPT = ("List the key facts from the text below as short sentences, one per line, no numbering.\n\n"
          "Text:\n{text}\n\nFacts:")
MAX_INPUT_CHARS = 3000
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sources(memory: Memory, *, episode: str | None, session: str | None, ids: Sequence[str] | None) -> list[dict[str, Any]]:
    """The active records to condense, oldest first."""
    chosen = [x for x in (episode, session, ids) if x]
    if len(chosen) != 1:
        raise ValidationError("condense one thing: pass episode=..., session=... or ids=[...]", field="episode")
    base = "SELECT m.*, c.text FROM memories m JOIN memory_content c ON c.hash=m.content_hash WHERE m.status='active' AND c.text IS NOT NULL"
    if episode:
        rows = memory.store.query(base + " AND m.episode=? ORDER BY coalesce(m.event_time, m.created_at), m.created_seq", (episode,))
    elif session:
        rows = memory.store.query(base + " AND m.session_id=? ORDER BY m.created_seq", (session,))
    else:
        wanted = [memory_id_of(i) for i in ids or ()]
        rows = memory.store.query(base + f" AND m.id IN ({','.join('?' * len(wanted))}) ORDER BY m.created_seq", tuple(wanted))
        missing = set(wanted) - {r["id"] for r in rows}
        if missing:
            raise NotFoundError(f"no active memory with id {sorted(missing)[0]!r}", id=sorted(missing)[0])
    if not rows:
        raise NotFoundError(f"nothing to condense for {chosen[0]!r}: no active memories there", id=str(chosen[0]))
    from ._records import decode

    return [decode(dict(r)) for r in rows]


def extractive(texts: Sequence[str], max_facts: int) -> list[str]:
    """The ``max_facts`` most central sentences (shared content words), in their original order."""
    sentences: list[str] = []
    for t in texts:
        for s in _SENTENCE.split(" ".join(t.split())):
            s = s.strip()
            if len(tokenize(s)) >= 3 and s not in sentences:
                sentences.append(s)
    if not sentences:
        return [" ".join(texts[0].split())[:300]] if texts else []
    df = Counter(t for s in sentences for t in set(tokenize(s)))
    def centrality(i: int) -> float:
        words = set(tokenize(sentences[i]))
        return sum(df[w] - 1 for w in words) / (len(words) ** 0.5) + (0.5 if re.search(r"\d", sentences[i]) else 0.0)
    best = sorted(range(len(sentences)), key=lambda i: (-centrality(i), i))[:max_facts]
    return [sentences[i] for i in sorted(best)]


def parse_facts(text: str, max_facts: int) -> list[str]:
    facts = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip()
        if len(tokenize(line)) >= 2 and line not in facts:
            facts.append(line)
    return facts[:max_facts]


def condense(memory: Memory, *, episode: str | None = None, session: str | None = None, ids: Sequence[str] | None = None,
             max_facts: int = 5, actor: str = "agent:condenser", models: Any = None) -> list[MemoryRef]:
    """Summarise records into facts in the working tier; each fact is derived from all of them."""
    rows = sources(memory, episode=episode, session=session, ids=ids)
    texts = [r["text"] for r in rows]
    joined = "\n".join(texts)
    if len(joined) > MAX_INPUT_CHARS:  # a 135M model reads a few hundred words well, not thousands
        joined = joined[:MAX_INPUT_CHARS]
    sensitive = any(r["sensitive"] for r in rows)
    fallback = extractive(texts, max_facts)
    facts, method, model = fallback, "extractive", "none"
    gen = _generate(memory, models, joined, fallback, sensitive, max_facts)
    if gen is not None and gen.from_model:
        parsed = parse_facts(gen.text, max_facts)
        if parsed:
            facts, method, model = parsed, "model", gen.model
    label = episode or session or "records"
    times = [r["event_time"] or r["created_at"] for r in rows]
    items = [{"text": f, "tier": "working", "kind": "fact", "source": "memory", "source_ref": f"condense:{label}",
              "derived_from": [r["id"] for r in rows], "event_time": max(times), "sensitive": sensitive,
              "client": _common(rows, "client_id"), "project": _common(rows, "project_id"),
              "meta": {"condensed_from": label, "method": method, "model": model, "sources": len(rows)}} for f in facts]
    return memory.remember_many(items, actor=actor, progress=False, reason=f"condensed from {len(rows)} memories ({method})")


def _common(rows: list[dict[str, Any]], key: str) -> str | None:
    values = {r[key] for r in rows}
    return values.pop() if len(values) == 1 else None


def _generate(memory: Memory, models: Any, text: str, fallback: list[str], sensitive: bool, max_facts: int) -> Any:
    """One request through the models layer; None when that layer cannot be used at all."""
    try:
        from .._models import GenRequest
    except ImportError:
        return None
    if models is None:
        models = memory.models()
    if models is None:
        return None

    def validate(out: str) -> str | None:
        return None if parse_facts(out, max_facts) else "no fact lines in the output"

    req = GenRequest(purpose="memory.condense", prompt=PROMPT.format(text=text), system=SYSTEM,
                     fallback="\n".join(fallback), max_new_tokens=24 * max_facts, sensitive=sensitive, validate=validate)
    from .._models._embedding import torch_threads

    # Token-by-token generation of a 135M model is too little work per step to
    # split over threads: one thread ran at ~10 tokens/s on a busy 2-core
    # machine where two ran at under 1.
    with torch_threads(1):
        return models.generate([req])[0]
