"""Memory's read API for views: what changed, the newest memories, the state of some.

Each function takes any store connection (a widget reads through one of its
own) and returns plain dicts; callers never query the memory tables.
"""

from __future__ import annotations

from typing import Any

from .._store import _json


def version(store: Any) -> int:
    """Moves on every create, update, move or forget."""
    return int(store.scalar("SELECT coalesce(max(event_seq), 0) FROM memories") or 0)


def recent(store: Any, *, tier: str | None = None, kind: str | None = None, client: str | None = None,
           project: str | None = None, since: str | None = None, until: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Active memories, newest first, with the same exact filters as ``recall`` (for an empty search)."""
    clauses, params = ["m.status='active'"], []
    for col, value in (("tier", tier), ("kind", kind), ("client_id", client), ("project_id", project)):
        if value:
            clauses.append(f"m.{col}=?")
            params.append(value)
    when = "coalesce(m.event_time, m.created_at)"
    if since:
        clauses.append(f"{when} >= ?")
        params.append(since)
    if until:
        clauses.append(f"{when} < ?")
        params.append(until)
    rows = store.query(
        "SELECT m.*, c.text FROM memories m JOIN memory_content c ON c.hash=m.content_hash WHERE "
        + " AND ".join(clauses) + f" ORDER BY {when} DESC, m.created_seq DESC LIMIT ?", (*params, int(limit)))
    out = []
    for r in rows:
        d = dict(r)
        d["meta"] = _json.loads(d["meta"])
        d["derived_from"] = _json.loads(d["derived_from"])
        out.append(d)
    return out


def states(store: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Status, reason, version, tier, client, project and text of some memories (to mark results changed since a search)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r["id"]: dict(r) for r in store.query(
        f"SELECT m.id, m.status, m.status_reason, m.version, m.tier, m.client_id, m.project_id, c.text FROM memories m "
        f"JOIN memory_content c ON c.hash=m.content_hash WHERE m.id IN ({marks})", tuple(ids))}


def facets(store: Any) -> dict[str, list[str]]:
    """Distinct clients and projects that active memories are filed under (an explorer's filter choices)."""
    out = {}
    for key, col in (("clients", "client_id"), ("projects", "project_id")):
        out[key] = [r[0] for r in store.query(
            f"SELECT DISTINCT {col} FROM memories WHERE status='active' AND {col} IS NOT NULL ORDER BY {col}")]
    return out
