"""Which errors are retried, how often, and after how long.

Errors are sorted into types; each type has its own number of tries:

============  ====================================================  ==================
type          what                                                  tries (default)
============  ====================================================  ==================
transient     timeouts, connection and OS errors, busy store,       max_attempts + 2
              a connector saying "try again"
model         a model failed after its own fallback                  2
error         anything else an agent raised (a bug, most likely)     max_attempts
invalid       bad input or a bad reference: retrying cannot help     1
============  ====================================================  ==================

The delay before try n+1 is exponential with "equal jitter":
``d = min(cap, base * 2**(n-1))``, then a uniform pick in ``[d/2, d]``, so
workers that failed together do not retry in lockstep.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Mapping

from .._errors import ConnectorError, ModelError, NotFoundError, StateError, ValidationError, WorkflowError


def classify(exc: BaseException) -> str:
    """The retry type of an exception."""
    if isinstance(exc, ConnectorError):
        return "transient" if exc.transient else "invalid"
    if isinstance(exc, (ValidationError, WorkflowError, NotFoundError, StateError, TypeError, KeyError, AttributeError)):
        return "invalid"
    if isinstance(exc, ModelError):
        return "model"
    if isinstance(exc, (TimeoutError, ConnectionError, sqlite3.OperationalError, OSError)):
        return "transient"
    return "error"


def tries(error_type: str, max_attempts: int, overrides: Mapping[str, int] | None = None) -> int:
    """How many tries an error of ``error_type`` gets in total."""
    if overrides and error_type in overrides:
        return max(1, int(overrides[error_type]))
    return {"transient": max_attempts + 2, "model": 2, "error": max_attempts, "invalid": 1}.get(error_type, max_attempts)


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 1)."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay / 2 + (rng or random).uniform(0, delay / 2)
