"""The ``models`` component: the response cache.

A plain table, not a projection: it holds derived data (a model's answer to
a prompt) that can be thrown away and regenerated, so it needs no event.
Every *call* is still recorded, as a ``model.called`` event and its span.
"""

from __future__ import annotations

from .._store import Migration, component

DDL = """
CREATE TABLE model_cache (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, tier TEXT NOT NULL, output TEXT NOT NULL,
    tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL, hits INTEGER NOT NULL DEFAULT 0
);
"""

models = component("models")
models.add_migration(Migration(1, "response_cache", DDL))
