"""The one place agents get evidence: memory, or keyword search over the records.

When the workspace has memory (tiered memory with hybrid retrieval) and
``[orchestrator] retriever`` allows it, recall goes there. Otherwise (or if
it fails, or finds nothing in ``auto`` mode) keyword search over the
artifacts answers. Either way the caller gets :class:`~aios_kernel.Evidence`
with a reference, a snippet, the whole passage and its provenance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._errors import AiosError
from .._evidence import Evidence


def recall(config: Any, memory: Callable[[], Any] | None, records: Any, query: str, *, k: int = 5,
           where: Mapping[str, Any] | None = None) -> list[Evidence]:
    """Evidence for ``query`` (``where`` filters: ``kind``, ``client_id``, ``project_id``, other meta keys)."""
    from .._memory import search_artifacts

    mode = str(config.get("orchestrator.retriever", "auto"))
    where = dict(where or {})
    if mode in ("auto", "memory") and memory is not None:
        found = _from_memory(memory, query, k, where, strict=mode == "memory")
        if found or mode == "memory":
            return found
    return search_artifacts(records, query, k=k, where=where)


def _from_memory(memory: Callable[[], Any], query: str, k: int, where: dict[str, Any], *, strict: bool) -> list[Evidence]:
    kwargs: dict[str, Any] = {}
    rest = dict(where)
    for ours, theirs in (("client_id", "client"), ("project_id", "project"), ("kind", "kind")):
        if ours in rest:
            kwargs[theirs] = rest.pop(ours)
    try:
        hits = memory().recall(query, k=k, where=rest or None, **kwargs)
    except (AiosError, AttributeError, TypeError, ValueError, ImportError):
        if strict:
            raise
        return []
    return [h.evidence(query) for h in hits]
