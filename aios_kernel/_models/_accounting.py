"""Prices and usage: every model call is accounted in tokens, CPU-seconds and money.

Prices come from ``[models.prices.<tier>]`` in aios.toml (per 1,000 input and
output tokens, per CPU-second); a tier without a price table costs nothing.
"""

from __future__ import annotations

from typing import Any


def price(config: Any, tier: str, *, tokens_in: int = 0, tokens_out: int = 0, cpu_s: float = 0.0) -> float:
    """The money one call cost at ``tier``'s prices."""
    table = (config.get("models.prices") or {}).get(tier) or {}
    return (float(table.get("input_per_1k", 0.0)) * tokens_in / 1000.0
            + float(table.get("output_per_1k", 0.0)) * tokens_out / 1000.0
            + float(table.get("per_cpu_second", 0.0)) * cpu_s)
