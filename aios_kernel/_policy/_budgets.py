"""Budgets per workflow and per day: tokens, CPU-seconds, money.

Spending is read from the model spans in the store (every model call is one),
so budgets hold across processes and restarts. Crossing a budget does not
fail the run: the runner pauses it and raises a "continue / stop" approval
that shows the cost so far. "Continue" adds one more budget's worth to the
run's allowance (or lifts a zero budget for this run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._ids import utcnow
from .._store import Store

MEASURES = ("tokens", "seconds", "money")


@dataclass(frozen=True)
class Spent:
    tokens: int = 0
    seconds: float = 0.0
    money: float = 0.0

    def get(self, measure: str) -> float:
        return float(getattr(self, measure))

    def to_json(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "seconds": round(self.seconds, 4), "money": round(self.money, 6)}


@dataclass(frozen=True)
class Breach:
    """One budget reached: which scope and measure, the limit and what was spent."""

    scope: str
    measure: str
    limit: float
    spent: float

    @property
    def key(self) -> str:
        return f"{self.scope}.{self.measure}"

    def describe(self) -> str:
        unit = {"tokens": " tokens", "seconds": " CPU-seconds", "money": ""}[self.measure]
        if self.limit == 0:
            return (f"the {self.scope} budget for {self.measure} is 0, so nothing may be spent without your OK "
                    f"(raise it in aios.toml [budgets] or choose continue)")
        return f"the {self.scope} budget for {self.measure} ({self.limit:g}{unit}) is reached: {self.spent:g}{unit} spent"

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "measure": self.measure, "limit": self.limit, "spent": self.spent}


def spent(store: Store, *, run_id: str | None = None, day: str | None = None) -> Spent:
    """Model spending of one run, or of one UTC day (``YYYY-MM-DD``)."""
    from .._observability import model_spending

    if run_id is None:
        day = day or utcnow().strftime("%Y-%m-%d")
    return Spent(*model_spending(store, run_id=run_id, day=day))


def limits(config: Any, workflow: str) -> dict[str, dict[str, float]]:
    """``{"workflow": {...}, "day": {...}}`` limits for ``workflow``."""
    wf = (config.get("budgets.workflows") or {}).get(workflow) or {"tokens": 100_000, "seconds": 900.0, "money": 2.0}
    return {
        "workflow": {m: float(wf.get(m, 0)) for m in MEASURES},
        "day": {"tokens": float(config.get("budgets.daily_tokens", 0)), "seconds": float(config.get("budgets.daily_seconds", 0)),
                "money": float(config.get("budgets.daily_money", 0))},
    }


def check(store: Store, config: Any, *, run_id: str, workflow: str, allowance: dict[str, Any]) -> list[Breach]:
    """Budgets this run has reached, given the allowance "continue" decisions granted it."""
    lim = limits(config, workflow)
    used = {"workflow": spent(store, run_id=run_id), "day": spent(store)}
    breaches = []
    for scope, measures in lim.items():
        for measure, limit in measures.items():
            key = f"{scope}.{measure}"
            if key in allowance and allowance[key] is None:
                continue  # a zero budget lifted for this run
            effective = limit + float(allowance.get(key) or 0.0)
            value = used[scope].get(measure)
            if value >= effective:
                breaches.append(Breach(scope, measure, limit, value))
    return breaches


def extend(allowance: dict[str, Any], breaches: list[dict[str, Any]]) -> dict[str, Any]:
    """The allowance after "continue": each breached budget gets one more of itself from what was spent."""
    out = dict(allowance)
    for b in breaches:
        # effective limit = limit + allowance, so an allowance of `spent` leaves one full budget from here
        out[f"{b['scope']}.{b['measure']}"] = None if b["limit"] == 0 else float(b["spent"])
    return out
