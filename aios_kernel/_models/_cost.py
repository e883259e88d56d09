"""What model calls cost: tokens, CPU-seconds and money, added up per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Cost:
    """Tokens, CPU-seconds and money spent by model calls (accumulated per step)."""

    tokens_in: int = 0
    tokens_out: int = 0
    cpu_s: float = 0.0
    money: float = 0.0
    calls: int = 0
    tier: str | None = None

    def add(self, other: Cost) -> None:
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.cpu_s += other.cpu_s
        self.money += other.money
        self.calls += other.calls
        if other.tier and other.tier != self.tier:
            self.tier = other.tier if self.tier is None else "mixed"

    def to_json(self) -> dict[str, Any]:
        return {"tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "cpu_s": round(self.cpu_s, 6),
                "money": round(self.money, 8), "calls": self.calls, "tier": self.tier}
