"""Memory: tiered, versioned records with provenance, embeddings and retrieval.

``wb.memory`` is a :class:`Memory`. Tiers: ``session`` (this kernel session),
``working`` (project notes, drafts, recent interactions) and ``long-term``
(facts, preferences, history, rules). See docs/ARCHITECTURE.md, "Memory".
"""

from . import _reads as reads
from ._api import Memory
from ._engine import MemoryWarning
from ._keyword import search_artifacts
from ._retention import PruneReport
from ._retrieve import RetrievalParams
from ._schema import KINDS, SOURCES, TIERS
from ._types import Hit, Hits, MemoryRef, Version

__all__ = ["KINDS", "SOURCES", "TIERS", "Hit", "Hits", "Memory", "MemoryRef", "MemoryWarning", "PruneReport",
           "RetrievalParams", "Version", "reads", "search_artifacts"]
