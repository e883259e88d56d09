"""Keyword search over the business records, for workspaces that do without memory.

The same BM25 and tokenizer as memory's own keyword layer (``_bm25``), over
the artifacts themselves (a title counts three times): when ``[orchestrator]
retriever = "keyword"``, or memory cannot answer, agents still get evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._evidence import Evidence, snippet
from ._bm25 import BM25, tokenize

if TYPE_CHECKING:
    from .._entities import Records


def search_artifacts(records: Records, query: str, *, k: int = 5, where: Mapping[str, Any] | None = None) -> list[Evidence]:
    """The ``k`` artifacts that best match ``query`` (``where``: ``kind``, ``client_id``, ``project_id``)."""
    terms = tokenize(query)
    if not terms:
        return []
    where = dict(where or {})
    arts = [a for a in records.artifacts(kinds=(where["kind"],) if where.get("kind") else ())
            if all(not where.get(key) or a.get(key) == where[key] for key in ("client_id", "project_id"))]
    index = BM25()
    docs = []
    for slot, a in enumerate(arts):
        words = tokenize(f"{a['title']} {a['title']} {a['title']} {a['body']}")
        index.add(slot, words)
        docs.append(set(words))
    scores = index.scores(terms, len(arts))
    ranked = sorted((i for i in range(len(arts)) if scores[i] > 0), key=lambda i: (-float(scores[i]), arts[i]["date"] or "",
                                                                                   arts[i]["id"]))
    out = []
    for i in ranked[:k]:
        a, meta = arts[i], arts[i]["meta"]
        text = f"{a['title']}\n{a['body']}"
        flags = tuple(meta.get("flags") or ())
        out.append(Evidence(f"artifact:{a['id']}", snippet(text, query), f"{a['kind']} {a['source_path'] or ''} {a['date'] or ''}".strip(),
                            round(float(scores[i]), 4), bool(meta.get("untrusted")),
                            f"keyword match: {', '.join(sorted(set(terms) & docs[i]))}", flags, bool(meta.get("sensitive")),
                            text, dict(meta)))
    return out
