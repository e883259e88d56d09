"""Looking at memory: a DataFrame of records, a growth plot, a summary.

``frame`` is polars (``.to_pandas()`` for pandas); ``plot_growth`` is a
static matplotlib Figure of active memories over time, one line per tier
(or tier and kind), built from the event log so forgotten and expired
records leave the curve when they went.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._store import _json

if TYPE_CHECKING:
    import polars as pl
    from matplotlib.figure import Figure

    from .._store import Store

FRAME_COLUMNS = ("id", "version", "tier", "kind", "status", "status_reason", "text", "meta", "source", "source_ref",
                 "derived_from", "client_id", "project_id", "episode", "event_time", "created_at", "updated_at",
                 "expires_at", "sensitive", "embedded", "actor")


def frame(store: Store, model_id: str, *, status: str | None = "active", tier: str | None = None,
          kind: str | None = None) -> pl.DataFrame:
    """Memories as a polars DataFrame (meta and derived_from as JSON strings; ``embedded`` says if a vector exists)."""
    import polars as pl

    clauses, params = [], [model_id]
    for col, value in (("m.status", status), ("m.tier", tier), ("m.kind", kind)):
        if value is not None:
            clauses.append(f"{col}=?")
            params.append(value)
    rows = store.query(
        "SELECT m.id, m.version, m.tier, m.kind, m.status, m.status_reason, c.text, m.meta, m.source, m.source_ref, "
        "m.derived_from, m.client_id, m.project_id, m.episode, m.event_time, m.created_at, m.updated_at, m.expires_at, "
        "m.sensitive, e.content_hash IS NOT NULL AS embedded, m.actor FROM memories m "
        "JOIN memory_content c ON c.hash=m.content_hash "
        "LEFT JOIN memory_embeddings e ON e.content_hash=m.content_hash AND e.model_id=?"
        + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY m.created_seq", tuple(params))
    schema = {c: pl.Utf8 for c in FRAME_COLUMNS}
    schema.update(version=pl.Int64, sensitive=pl.Boolean, embedded=pl.Boolean)
    data = {c: [r[c] for r in rows] for c in FRAME_COLUMNS}
    data["sensitive"] = [bool(v) for v in data["sensitive"]]
    data["embedded"] = [bool(v) for v in data["embedded"]]
    df = pl.DataFrame(data, schema=schema)
    for col in ("event_time", "created_at", "updated_at", "expires_at"):
        df = df.with_columns(pl.col(col).str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC", strict=False))
    return df


def growth(store: Store, *, by: str = "tier") -> dict[str, list[tuple[str, int]]]:
    """Active memories over time from the event log: ``{series: [(time, count), ...]}``."""
    if by not in ("tier", "kind", "tier_kind"):
        from .._errors import ValidationError

        raise ValidationError(f"by must be 'tier', 'kind' or 'tier_kind', got {by!r}", field="by")
    state: dict[str, tuple[str, str]] = {}
    counts: dict[str, int] = {}
    series: dict[str, list[tuple[str, int]]] = {}

    def key(tier: str, kind: str) -> str:
        return {"tier": tier, "kind": kind, "tier_kind": f"{tier}/{kind}"}[by]

    def bump(k: str, d: int, at: str) -> None:
        counts[k] = counts.get(k, 0) + d
        series.setdefault(k, []).append((at, counts[k]))

    for r in store.query("SELECT at, type, entity, payload FROM events WHERE type LIKE 'memory.%' ORDER BY seq"):
        mid = r["entity"].split(":", 1)[1]
        p = _json.loads(r["payload"])
        if r["type"] == "memory.created":
            state[mid] = (p["tier"], p["kind"])
            bump(key(*state[mid]), +1, r["at"])
        elif r["type"] == "memory.moved" and mid in state:
            old = state[mid]
            state[mid] = (p["to"], old[1])
            if key(*old) != key(*state[mid]):
                bump(key(*old), -1, r["at"])
                bump(key(*state[mid]), +1, r["at"])
        elif r["type"] in ("memory.forgotten", "memory.expired", "memory.purged"):
            for gone in p.get("ids") or [mid]:
                if gone in state:
                    bump(key(*state.pop(gone)), -1, r["at"])
    return series


def plot_growth(store: Store, *, by: str = "tier") -> Figure:
    """A static line chart of active memories over time per tier (or kind, or tier/kind)."""
    from datetime import datetime

    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    data = growth(store, by=by)
    fig = Figure(figsize=(7, 3.2), dpi=100)
    ax = fig.add_subplot()
    for name, points in sorted(data.items()):
        xs = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t, _ in points]
        ax.step(xs, [c for _, c in points], where="post", label=name)
    ax.set_title(f"Active memories by {by.replace('_', ' and ')}")
    ax.set_ylabel("memories")
    if data:
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.legend(loc="upper left", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no memories yet", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig


@dataclass(repr=False)
class Stats:
    """Counts of memories by tier, kind and status, and the embedding state."""

    model_id: str
    by_tier: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    pending: int = 0

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        lines = [f"memory ({self.model_id}): " + ", ".join(f"{v} {k}" for k, v in self.by_status.items())]
        lines.append("  active by tier: " + ", ".join(f"{k} {v}" for k, v in self.by_tier.items()))
        lines.append("  active by kind: " + ", ".join(f"{k} {v}" for k, v in self.by_kind.items()))
        if self.pending:
            lines.append(f"  waiting for a vector: {self.pending} (wb.memory.embed_pending())")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        def table(title: str, d: dict[str, int]) -> str:
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{v}</td></tr>" for k, v in d.items())
            return f"<table><tr><th>{title}</th><th></th></tr>{rows}</table>"

        pend = f"<p>{self.pending} waiting for a vector</p>" if self.pending else ""
        return (f"<div class='aios-memory-stats'><b>memory</b> <small>{html.escape(self.model_id)}</small>"
                f"<div style='display:flex;gap:2em'>{table('tier', self.by_tier)}{table('kind', self.by_kind)}"
                f"{table('status', self.by_status)}</div>{pend}</div>")


def stats(store: Store, model_id: str, pending: int) -> Stats:
    s = Stats(model_id, pending=pending)
    for r in store.query("SELECT status, count(*) FROM memories GROUP BY status ORDER BY status"):
        s.by_status[r[0]] = r[1]
    for r in store.query("SELECT tier, count(*) FROM memories WHERE status='active' GROUP BY tier ORDER BY tier"):
        s.by_tier[r[0]] = r[1]
    for r in store.query("SELECT kind, count(*) FROM memories WHERE status='active' GROUP BY kind ORDER BY count(*) DESC"):
        s.by_kind[r[0]] = r[1]
    return s
