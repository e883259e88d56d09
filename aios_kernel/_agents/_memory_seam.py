"""The one place agents get evidence from memory.

When the workspace has ``wb.memory`` (tiered memory with hybrid retrieval)
and ``[orchestrator] retriever`` allows it, recall goes there. Otherwise (or
if it fails, or finds nothing in ``auto`` mode) a plain keyword search over
the ``artifacts`` table answers. Either way the caller gets :class:`Found`
items with a reference, a snippet and provenance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import AiosError
from .._store import _json

STOPWORDS = frozenset(
    "a an and are as at be by for from has have i in is it its of on or our re that the this to we with you your "
    "will can could would should about into over not no yes hi hello thanks thank best regards".split())
_WORD = re.compile(r"[a-z0-9äöüßéèáàøåæ]+")


@dataclass
class Found:
    """One piece of evidence: reference, text, score, provenance."""

    ref: str
    text: str
    score: float
    source: str
    meta: dict[str, Any] = field(default_factory=dict)
    untrusted: bool = False
    flags: tuple[str, ...] = ()
    sensitive: bool = False
    why: str = ""

    def snippet(self, query: str = "", width: int = 280) -> str:
        return snippet(self.text, query, width)


def recall(wb: Any, query: str, *, k: int = 5, where: Mapping[str, Any] | None = None) -> list[Found]:
    """Evidence for ``query`` (``where`` filters: ``kind``, ``client_id``, ``project_id``, other meta keys)."""
    mode = str(wb.config.get("orchestrator.retriever", "auto"))
    where = dict(where or {})
    if mode in ("auto", "memory"):
        found = _from_memory(wb, query, k, where, strict=mode == "memory")
        if found or mode == "memory":
            return found
    return keyword_search(wb.store, query, k=k, where=where)


def _from_memory(wb: Any, query: str, k: int, where: dict[str, Any], *, strict: bool) -> list[Found]:
    try:
        memory = wb.memory
    except (AttributeError, ImportError, AiosError):
        if strict:
            raise
        return []
    kwargs: dict[str, Any] = {}
    rest = dict(where)
    for ours, theirs in (("client_id", "client"), ("project_id", "project"), ("kind", "kind")):
        if ours in rest:
            kwargs[theirs] = rest.pop(ours)
    try:
        hits = memory.recall(query, k=k, where=rest or None, **kwargs)
    except (AiosError, TypeError, ValueError, ImportError):
        if strict:
            raise
        return []
    out = []
    for h in hits:
        meta = dict(getattr(h, "meta", {}) or {})
        flags = tuple(meta.get("flags") or ())
        out.append(Found(ref=str(getattr(h, "ref", h.id)), text=h.text, score=float(h.score),
                         source=f"{getattr(h, 'source', '')}{': ' + h.source_ref if getattr(h, 'source_ref', None) else ''}",
                         meta=meta, untrusted=bool(meta.get("untrusted")) or bool(flags), flags=flags,
                         sensitive=bool(getattr(h, "sensitive", False)), why=f"memory: {getattr(h, 'why', {})}"))
    return out


def tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in STOPWORDS]


def keyword_search(store: Any, query: str, *, k: int = 5, where: Mapping[str, Any] | None = None) -> list[Found]:
    """Artifacts ranked by query-term matches (title counts three times), with a snippet."""
    terms = set(tokens(query))
    if not terms:
        return []
    clauses, params = ["kind != 'template'"], []
    for key in ("kind", "client_id", "project_id"):
        if (where or {}).get(key):
            clauses.append(f"{key} = ?")
            params.append(where[key])  # type: ignore[index]
    rows = store.query(f"SELECT id, kind, title, date, source_path, body, meta FROM artifacts WHERE {' AND '.join(clauses)}",
                       tuple(params))
    n = max(1, len(rows))
    df: dict[str, int] = {}
    docs = []
    for r in rows:
        words = tokens(f"{r['title']} {r['title']} {r['title']} {r['body']}")
        counts: dict[str, int] = {}
        for w in words:
            if w in terms:
                counts[w] = counts.get(w, 0) + 1
        for w in counts:
            df[w] = df.get(w, 0) + 1
        docs.append((r, counts, len(words)))
    scored = []
    for r, counts, length in docs:
        if not counts:
            continue
        score = sum((1 + math.log(c)) * math.log(1 + n / df[w]) for w, c in counts.items()) / math.sqrt(1 + length / 200)
        scored.append((score, r))
    scored.sort(key=lambda x: (-x[0], x[1]["date"] or "", x[1]["id"]))
    out = []
    for score, r in scored[:k]:
        meta = _json.loads(r["meta"]) or {}
        flags = tuple(meta.get("flags") or ())
        out.append(Found(ref=f"artifact:{r['id']}", text=f"{r['title']}\n{r['body']}", score=round(score, 4),
                         source=f"{r['kind']} {r['source_path'] or ''} {r['date'] or ''}".strip(), meta=meta,
                         untrusted=bool(meta.get("untrusted")), flags=flags, sensitive=bool(meta.get("sensitive")),
                         why=f"keyword match: {', '.join(sorted(counts_of(r, terms)))}"))
    return out


def counts_of(row: Any, terms: set[str]) -> set[str]:
    return terms & set(tokens(f"{row['title']} {row['body']}"))


def snippet(text: str, query: str = "", width: int = 280) -> str:
    """The part of ``text`` around the first query term (or its start), on one line."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    pos = 0
    low = flat.lower()
    for t in tokens(query):
        i = low.find(t)
        if i >= 0:
            pos = max(0, i - width // 3)
            break
    cut = flat[pos:pos + width]
    return ("…" if pos else "") + cut + "…"
