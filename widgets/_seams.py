"""Small read-only queries on other layers' tables that their public API does not offer (yet).

Each reads through the widget's own connection (``reader``), never writes,
and names the table it depends on, so a change of schema breaks a test here
rather than a widget in front of a user.
"""

from __future__ import annotations

import math
from typing import Any

from aios_kernel._store import _json


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON for a synced trait (numpy scalars become numbers, the rest strings)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        try:
            return jsonable(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def has_table(reader: Any, name: str) -> bool:
    return reader.scalar("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?", (name,)) > 0


# -- approvals (orchestrator component) ---------------------------------------------------------


def approvals_version(reader: Any) -> tuple[int, int]:
    """(rows, largest event_seq) of ``approvals``: moves on every request, decision or deferral."""
    row = reader.one("SELECT count(*), coalesce(max(event_seq), 0) FROM approvals")
    return int(row[0]), int(row[1])


def runs_by_id(reader: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """``runs`` rows (workflow, status, mode) for the given run ids."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r["id"]: dict(r) for r in reader.query(
        f"SELECT id, workflow, status, mode, error FROM runs WHERE id IN ({marks})", tuple(ids))}


def effects_by_key(reader: Any, keys: list[str]) -> dict[str, dict[str, Any]]:
    """``outbox`` rows (status, connector, receipt, error) for the given effect keys."""
    keys = [k for k in keys if k]
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    out = {}
    for r in reader.query(f"SELECT key, connector, action, status, result, error, applied_at FROM outbox WHERE key IN ({marks})",
                          tuple(keys)):
        d = dict(r)
        d["result"] = _json.loads(d["result"]) if d["result"] else None
        out[d["key"]] = d
    return out


def recent_decisions(reader: Any, limit: int = 20) -> list[dict[str, Any]]:
    """The last decided approvals, newest first (``approvals`` rows without payloads)."""
    rows = reader.query("SELECT id, run_id, kind, action, title, status, decision, choice, reason, decided_by, decided_at"
                        " FROM approvals WHERE decided_at IS NOT NULL ORDER BY decided_at DESC, rowid DESC LIMIT ?",
                        (int(limit),))
    return [dict(r) for r in rows]


# -- memory (memory component) -------------------------------------------------------------------


def memories_version(reader: Any) -> int:
    """Largest ``event_seq`` of ``memories``: moves on every create, update, move or forget."""
    return int(reader.scalar("SELECT coalesce(max(event_seq), 0) FROM memories") or 0)


def recent_memories(reader: Any, *, tier: str | None = None, kind: str | None = None, client: str | None = None,
                    project: str | None = None, since: str | None = None, until: str | None = None,
                    limit: int = 20) -> list[dict[str, Any]]:
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
    rows = reader.query(
        "SELECT m.*, c.text FROM memories m JOIN memory_content c ON c.hash=m.content_hash WHERE "
        + " AND ".join(clauses) + f" ORDER BY {when} DESC, m.created_seq DESC LIMIT ?", (*params, int(limit)))
    out = []
    for r in rows:
        d = dict(r)
        d["meta"] = _json.loads(d["meta"])
        d["derived_from"] = _json.loads(d["derived_from"])
        out.append(d)
    return out


def memory_states(reader: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Current status, version and text of some memories (to mark results changed since the search)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r["id"]: dict(r) for r in reader.query(
        f"SELECT m.id, m.status, m.status_reason, m.version, m.tier, c.text FROM memories m "
        f"JOIN memory_content c ON c.hash=m.content_hash WHERE m.id IN ({marks})", tuple(ids))}


def memory_facets(reader: Any) -> dict[str, list[str]]:
    """Distinct clients and projects that active memories are filed under (the explorer's filter choices)."""
    out = {}
    for key, col in (("clients", "client_id"), ("projects", "project_id")):
        out[key] = [r[0] for r in reader.query(
            f"SELECT DISTINCT {col} FROM memories WHERE status='active' AND {col} IS NOT NULL ORDER BY {col}")]
    return out


# -- spans and runs (orchestrator component) ----------------------------------------------------


def trace_version(reader: Any, run_id: str) -> tuple[int, ...]:
    """Moves when a span of the run changes, or a step checkpoint of its tasks (those rows are the step spans)."""
    spans = reader.one("SELECT count(*), coalesce(max(event_seq), 0) FROM spans WHERE trace_id=?", (run_id,))
    steps = reader.one("SELECT count(*), coalesce(max(s.event_seq), 0) FROM steps s JOIN queue q ON q.id = s.task_id"
                       " WHERE q.run_id=?", (run_id,))
    return int(spans[0]), int(spans[1]), int(steps[0]), int(steps[1])


def spending_version(reader: Any) -> tuple[int, int, int]:
    """Moves whenever a span, a step checkpoint (steps carry their cost) or a run changes."""
    spans = reader.scalar("SELECT coalesce(max(event_seq), 0) FROM spans") or 0
    steps = reader.scalar("SELECT coalesce(max(event_seq), 0) FROM steps") or 0
    runs = reader.scalar("SELECT coalesce(max(event_seq), 0) FROM runs") or 0
    return int(spans), int(steps), int(runs)
