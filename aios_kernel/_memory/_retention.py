"""Retention: session ends, lifetimes and caps, and the prune job.

Policies come from aios.toml::

    [memory.retention.session]          # a tier
    ttl_days = 1
    [memory.retention.working.draft]    # a kind within a tier ("working.draft" works too)
    ttl_days = 14
    max_records = 200

``ttl_days`` expires records older than that (by record time);
``max_records`` keeps the newest records of the tier (or tier and kind).
A kind's policy overrides its tier's. A ``ttl`` given to ``remember``
stamps an expiry on the record itself. Session memories expire when their
session closes; those of sessions that ended without closing (a crashed
kernel) expire after the session policy's ``ttl_days`` (1 day by default).

Every removal is a ``memory.expired`` event naming the rule and the reason,
grouped by one correlation id per prune run: the audit trail says what went
and why. Expired memories are tombstones (text and history stay) unless
purged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .._ids import iso, new_id, utcnow

if TYPE_CHECKING:
    from ._api import Memory

SESSION_TTL_DAYS = 1.0


@dataclass(repr=False)
class PruneReport:
    """What a prune removed: ``(memory id, reason)`` pairs, and the run's correlation id."""

    run_id: str
    removed: list[tuple[str, str]] = field(default_factory=list)
    dry_run: bool = False

    def __len__(self) -> int:
        return len(self.removed)

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        verb = "would expire" if self.dry_run else "expired"
        lines = [f"prune {self.run_id}: {verb} {len(self.removed)} memories"]
        lines += [f"  {mid}: {why}" for mid, why in self.removed[:50]]
        if len(self.removed) > 50:
            lines.append(f"  ... and {len(self.removed) - 50} more")
        return "\n".join(lines)


def policies(config: Any) -> dict[tuple[str, str | None], dict[str, float]]:
    """``(tier, kind or None) -> {"ttl_days", "max_records"}`` from ``[memory.retention]``."""
    from .._errors import ConfigError, ValidationError
    from ._records import check_tier

    out: dict[tuple[str, str | None], dict[str, float]] = {}
    for key, table in (config.get("memory.retention") or {}).items():
        tier_name, _, kind = key.partition(".")
        try:
            tier = check_tier(tier_name)
        except ValidationError as exc:
            raise ConfigError(f"[memory.retention.{key}]: {exc}", path=getattr(config, "path", None),
                              key=f"memory.retention.{key}") from None
        out[(tier, kind or None)] = {"ttl_days": table.get("ttl_days", 0), "max_records": table.get("max_records", 0)}
        for sub, value in table.items():
            if isinstance(value, dict):
                out[(tier, sub)] = {"ttl_days": value.get("ttl_days", 0), "max_records": value.get("max_records", 0)}
    return out


def end_session(memory: Memory) -> int:
    """Expire the session-tier memories of ``memory``'s session (not promoted ones)."""
    rows = memory.store.query("SELECT id FROM memories WHERE status='active' AND tier='session' AND session_id=?",
                              (memory.session_id,))
    with memory.store.atomic():
        for r in rows:
            memory.store.emit("memory.expired", f"memory:{r[0]}", {"reason": "session ended", "rule": "session"},
                              actor="system", correlation_id=memory.session_id)
    return len(rows)


def prune(memory: Memory, *, now: Any = None, dry_run: bool = False) -> PruneReport:
    """Apply expiry stamps and retention policies; every removal is an event with its reason."""
    store = memory.store
    now = now or utcnow()
    now_s = iso(now)
    report = PruneReport(new_id("prune"), dry_run=dry_run)
    chosen: dict[str, str] = {}
    for r in store.query("SELECT id, expires_at FROM memories WHERE status='active' AND expires_at IS NOT NULL AND expires_at <= ?",
                         (now_s,)):
        chosen.setdefault(r[0], f"its ttl ran out at {r[1]}")
    pol = policies(memory.config)
    session_ttl = pol.get(("session", None), {}).get("ttl_days") or SESSION_TTL_DAYS
    cutoff = iso(now - timedelta(days=session_ttl))
    for r in store.query("SELECT id FROM memories WHERE status='active' AND tier='session' AND (session_id IS NULL OR session_id != ?)"
                         " AND created_at < ?", (memory.session_id, cutoff)):
        chosen.setdefault(r[0], f"session memory of an ended session, older than {session_ttl:g} days (memory.retention.session)")
    for (tier, kind), rule in pol.items():
        name = f"memory.retention.{tier}" + (f".{kind}" if kind else "")
        scope, params = "tier=?", [tier]
        if kind:
            scope += " AND kind=?"
            params.append(kind)
        else:
            # A kind with its own policy is governed by it, not by the tier's.
            own = [k for (t, k) in pol if t == tier and k]
            if own:
                scope += f" AND kind NOT IN ({','.join('?' * len(own))})"
                params.extend(own)
        if rule["ttl_days"]:
            old = iso(now - timedelta(days=float(rule["ttl_days"])))
            for r in store.query(f"SELECT id FROM memories WHERE status='active' AND {scope} AND created_at < ?", (*params, old)):
                chosen.setdefault(r[0], f"older than {rule['ttl_days']:g} days ({name}.ttl_days)")
        if rule["max_records"]:
            rows = store.query(f"SELECT id FROM memories WHERE status='active' AND {scope} ORDER BY created_at DESC, created_seq DESC"
                               f" LIMIT -1 OFFSET ?", (*params, int(rule["max_records"])))
            for r in rows:
                chosen.setdefault(r[0], f"beyond the newest {int(rule['max_records'])} ({name}.max_records)")
    report.removed = sorted(chosen.items())
    if not dry_run and chosen:
        with store.atomic():
            for mid, why in report.removed:
                store.emit("memory.expired", f"memory:{mid}", {"reason": why, "rule": "retention"}, actor="system:prune",
                           correlation_id=report.run_id)
        memory._sync_if_ready()
    return report
