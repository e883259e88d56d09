"""The response cache: a model's output keyed by model, prompt and parameters."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .._ids import iso
from .._store import Store


def cache_key(model: str, system: str, prompt: str, params: dict[str, Any]) -> str:
    """SHA-256 over everything that changes the answer of a deterministic (greedy) model."""
    body = json.dumps({"model": model, "system": system, "prompt": prompt, "params": params}, sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Cached:
    output: str
    tokens_in: int
    tokens_out: int


class ResponseCache:
    """Get and put cached outputs in the store's ``model_cache`` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> Cached | None:
        row = self.store.one("SELECT output, tokens_in, tokens_out FROM model_cache WHERE key=?", (key,))
        return None if row is None else Cached(row[0], row[1], row[2])

    def get_many(self, keys: list[str]) -> dict[str, Cached]:
        out: dict[str, Cached] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(f"SELECT key, output, tokens_in, tokens_out FROM model_cache WHERE key IN ({marks})",
                                        tuple(chunk)):
                out[row[0]] = Cached(row[1], row[2], row[3])
        if out:
            with self.store.atomic() as conn:
                conn.executemany("UPDATE model_cache SET hits = hits + 1 WHERE key=?", [(k,) for k in out])
        return out

    def put(self, key: str, *, model: str, tier: str, output: str, tokens_in: int, tokens_out: int) -> None:
        with self.store.atomic() as conn:
            conn.execute("INSERT OR REPLACE INTO model_cache(key, model, tier, output, tokens_in, tokens_out, created_at, hits)"
                         " VALUES (?,?,?,?,?,?,?,0)", (key, model, tier, output, tokens_in, tokens_out, iso()))

    def clear(self) -> int:
        with self.store.atomic() as conn:
            return conn.execute("DELETE FROM model_cache").rowcount
