"""What every connector call passes through: the circuit breaker, the rate limit, the counts.

Written once for every connector, with its state in the store (shared by
every process on the workspace, surviving restarts):

- **Breaker.** After ``breaker_failures`` transient failures in a row the
  connector's circuit opens: calls fail at once (transient, ``retry_after``
  the time left) for ``breaker_cooldown_s``; then one call is let through
  as a probe (half-open): its success closes the circuit, its failure opens it
  again. Each change is a ``connector.breaker`` event.
- **Rate limit.** A token bucket per connector and per action
  (``rate_per_minute``, ``burst``): an empty bucket fails the call at once
  (transient, ``retry_after`` until the next token), so the broker retries it
  later instead of a thread sleeping.
- **Usage.** Calls, failures, the last error, per connector and day (the
  status frame and ``aios status`` show them).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .._errors import ConnectorError
from .._ids import iso, utcnow

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Guard:
    """Breaker, rate limit and usage counts of one connector, kept in the store."""

    def __init__(self, store: Any, name: str, settings: Mapping[str, Any]) -> None:
        self.store = store
        self.name = name
        self.failures_to_open = max(1, int(settings.get("breaker_failures", 5)))
        self.cooldown_s = max(0.0, float(settings.get("breaker_cooldown_s", 60.0)))
        self.rate = float(settings.get("rate_per_minute", 0) or 0)
        self.burst = float(settings.get("burst", 0) or 0) or max(1.0, self.rate / 6)
        self.action_rates = {a: dict(s) for a, s in (settings.get("actions") or {}).items()}

    # -- before a call --------------------------------------------------------------------------

    def admit(self, action: str, *, now: float | None = None) -> None:
        """Let the call through, or raise a transient ConnectorError saying when to try again."""
        now = time.time() if now is None else now
        with self.store.atomic() as conn:
            row = conn.execute("SELECT state, retry_at, reason, failures FROM connector_breakers WHERE name=?",
                               (self.name,)).fetchone()
            if row is not None and row[0] == OPEN:
                if now < (row[1] or 0):
                    raise ConnectorError(
                        f"connector {self.name!r} is paused after {row[3]} failures in a row ({row[2]}); "
                        f"it tries again in {row[1] - now:.0f}s", connector=self.name, transient=True, retry_after=row[1] - now,
                        called=False)
                self._move(HALF_OPEN, failures=row[3], reason=f"probing after: {row[2]}")
            elif row is not None and row[0] == HALF_OPEN:
                raise ConnectorError(f"connector {self.name!r} is being probed by another call; try again shortly",
                                     connector=self.name, transient=True, retry_after=min(5.0, self.cooldown_s or 1.0),
                                     called=False)
            for bucket, rate, burst in self._buckets(action):
                self._take(conn, bucket, rate, burst, now)

    def _buckets(self, action: str) -> list[tuple[str, float, float]]:
        out = []
        if self.rate > 0:
            out.append((self.name, self.rate, self.burst))
        per = self.action_rates.get(action) or {}
        rate = float(per.get("rate_per_minute", 0) or 0)
        if rate > 0:
            out.append((f"{self.name}.{action}", rate, float(per.get("burst", 0) or 0) or max(1.0, rate / 6)))
        return out

    def _take(self, conn: Any, bucket: str, rate: float, burst: float, now: float) -> None:
        row = conn.execute("SELECT tokens, updated FROM connector_buckets WHERE bucket=?", (bucket,)).fetchone()
        tokens = burst if row is None else min(burst, row[0] + (now - row[1]) * rate / 60.0)
        if tokens < 1.0:
            wait = (1.0 - tokens) * 60.0 / rate
            raise ConnectorError(f"connector {self.name!r}: rate limit of {rate:g} a minute reached ({bucket}); "
                                 f"the next call may go in {wait:.1f}s", connector=self.name, transient=True, retry_after=wait,
                                 called=False)
        conn.execute("INSERT OR REPLACE INTO connector_buckets(bucket, tokens, updated) VALUES (?,?,?)",
                     (bucket, tokens - 1.0, now))

    # -- after a call ---------------------------------------------------------------------------

    def succeeded(self) -> None:
        with self.store.atomic() as conn:
            self._count(conn, failed=False, error=None)
            row = conn.execute("SELECT state FROM connector_breakers WHERE name=?", (self.name,)).fetchone()
            if row is not None and row[0] != CLOSED:
                self._move(CLOSED, failures=0, reason="a call succeeded")

    def failed(self, error: str, *, transient: bool, now: float | None = None) -> None:
        """Count a failure; a run of transient ones opens the circuit (a probe's failure reopens it)."""
        now = time.time() if now is None else now
        with self.store.atomic() as conn:
            consecutive = self._count(conn, failed=True, error=error, transient=transient)
            row = conn.execute("SELECT state FROM connector_breakers WHERE name=?", (self.name,)).fetchone()
            state = row[0] if row is not None else CLOSED
            if transient and (state == HALF_OPEN or consecutive >= self.failures_to_open):
                self._move(OPEN, failures=consecutive, reason=error[:300], retry_at=now + self.cooldown_s)

    def _count(self, conn: Any, *, failed: bool, error: str | None, transient: bool = False) -> int:
        day, at = utcnow().strftime("%Y-%m-%d"), iso()
        conn.execute("INSERT OR IGNORE INTO connector_usage(name, day) VALUES (?, ?)", (self.name, day))
        if failed:
            conn.execute("UPDATE connector_usage SET calls=calls+1, failures=failures+1, consecutive=consecutive+?,"
                         " last_error=?, last_error_at=?, last_call_at=? WHERE name=? AND day=?",
                         (1 if transient else 0, error[:500] if error else None, at, at, self.name, day))
        else:
            conn.execute("UPDATE connector_usage SET calls=calls+1, consecutive=0, last_call_at=? WHERE name=? AND day=?",
                         (at, self.name, day))
        row = conn.execute("SELECT consecutive FROM connector_usage WHERE name=? AND day=?", (self.name, day)).fetchone()
        return int(row[0]) if row else 0

    def _move(self, state: str, *, failures: int, reason: str, retry_at: float | None = None) -> None:
        self.store.emit("connector.breaker", f"connector:{self.name}",
                        {"state": state, "failures": failures, "reason": reason, "retry_at": retry_at}, actor="connectors")


def status(store: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """Breaker state and today's calls, failures and last error, per connector name."""
    day = utcnow().strftime("%Y-%m-%d")
    out: dict[str, dict[str, Any]] = {n: {"state": CLOSED, "calls": 0, "failures": 0, "last_error": None, "retry_at": None}
                                      for n in names}
    for r in store.query("SELECT name, state, retry_at, reason FROM connector_breakers"):
        if r[0] in out:
            out[r[0]].update(state=r[1], retry_at=r[2], reason=r[3])
    for r in store.query("SELECT name, calls, failures, last_error, last_error_at FROM connector_usage WHERE day=?", (day,)):
        if r[0] in out:
            out[r[0]].update(calls=r[1], failures=r[2], last_error=r[3], last_error_at=r[4])
    for r in store.query("SELECT bucket, tokens, updated FROM connector_buckets"):
        if r[0] in out:  # the connector's own bucket (an action's is NAME.ACTION)
            out[r[0]].update(tokens=round(float(r[1]), 2), bucket_updated=float(r[2]))
    return out


def headroom(settings: Mapping[str, Any], row: Mapping[str, Any], *, now: float | None = None) -> int | None:
    """Calls the connector's rate limit lets through now (None: no limit), from its bucket as ``status`` read it."""
    rate = float(settings.get("rate_per_minute", 0) or 0)
    if rate <= 0:
        return None
    burst = float(settings.get("burst", 0) or 0) or max(1.0, rate / 6)
    if row.get("bucket_updated") is None:
        return int(burst)
    now = time.time() if now is None else now
    return int(min(burst, float(row["tokens"]) + max(0.0, now - float(row["bucket_updated"])) * rate / 60.0))
