"""A static timeline of a run (matplotlib): one bar per span, grouped by task."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from .._store import Store
from ._trace import spans

COLOURS = {"run": "#6e7781", "task": "#8c959f", "step": "#0969da", "model": "#8250df", "connector": "#1a7f37"}
STATUS_EDGE = {"error": "#cf222e", "failed": "#cf222e", "waiting": "#bf8700", "fallback": "#bf8700"}


def _t(at: str | None) -> float | None:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() if at else None


def _tree_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each span followed by its children (a task, its steps, their model and connector calls)."""
    ids = {s["id"] for s in rows}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in rows:
        children.setdefault(s["parent_id"] if s["parent_id"] in ids else None, []).append(s)
    out: list[dict[str, Any]] = []

    def walk(parent: str | None) -> None:
        for s in children.get(parent, []):
            out.append(s)
            walk(s["id"])

    walk(None)
    return out


def timeline(store: Store, run_id: str, *, path: str | Path | None = None, max_rows: int = 60) -> Any:
    """A matplotlib Figure of the run's spans over time (saved to ``path`` if given)."""
    import matplotlib.pyplot as plt

    rows = spans(store, run_id)
    starts = [t for s in rows if (t := _t(s["start_at"])) is not None]
    t0 = min(starts) if starts else 0.0
    now = max([t for s in rows for t in (_t(s["end_at"]), _t(s["start_at"])) if t is not None] or [t0])
    rows = _tree_order([s for s in rows if s["kind"] != "run"])[:max_rows]
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(rows) + 1.2))
    for y, s in enumerate(rows):
        start = (_t(s["start_at"]) or t0) - t0
        end = (_t(s["end_at"]) or now) - t0
        ax.barh(y, max(end - start, (now - t0) * 0.004 + 1e-4), left=start, color=COLOURS.get(s["kind"], "#999"),
                edgecolor=STATUS_EDGE.get(s["status"], "none"), linewidth=1.5)
    labels = [f"{s['kind'][:4]} {s['name'][:34]}" for s in rows]
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the run started")
    ax.set_title(f"run {run_id}", fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    ax.legend(handles, list(COLOURS), fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig
