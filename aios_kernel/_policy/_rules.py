"""``Policy``: the rules one workspace's settings give, as the one thing the runner asks.

Whether an action may happen on its own (graded autonomy, ``_autonomy``) and
whether a run may spend more (budgets, ``_budgets``) both come from
``aios.toml``; the runner holds a ``Policy`` instead of the settings.
"""

from __future__ import annotations

from typing import Any

from .._store import Store
from ._autonomy import Decision, decide
from ._budgets import Breach, Spent, check, spent


class Policy:
    """Autonomy and budgets for one workspace's settings."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def decide(self, action: str, *, confidence: float = 1.0, untrusted: bool = False, forced: str | None = None,
               covered_by: str | None = None, flags: tuple[str, ...] = ()) -> Decision:
        """Automatic, reviewed, or options to choose from, and why (see :func:`~aios_kernel._policy.decide`)."""
        return decide(self.config, action, confidence=confidence, untrusted=untrusted, forced=forced, covered_by=covered_by,
                      flags=flags)

    def breaches(self, store: Store, *, run_id: str, workflow: str, allowance: dict[str, Any]) -> list[Breach]:
        """The budgets this run has reached, given the allowance "continue" decisions granted it."""
        return check(store, self.config, run_id=run_id, workflow=workflow, allowance=allowance)

    def spent(self, store: Store, *, run_id: str | None = None) -> Spent:
        """What model calls spent in one run, or today."""
        return spent(store, run_id=run_id)
