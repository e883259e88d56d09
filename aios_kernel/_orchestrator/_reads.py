"""The orchestrator's read API for views: runs, checkpoints and effects, by id, for a widget or a report.

Each function takes any store connection (a widget reads through one of its
own) and returns plain dicts; callers never query ``runs``, ``queue``,
``steps`` or ``outbox`` themselves.
"""

from __future__ import annotations

from typing import Any

from .._store import _json


def recent_runs(store: Any, limit: int | None = 30) -> list[dict[str, Any]]:
    """Runs, newest first: id, workflow, status, mode, created_at, finished_at, error."""
    sql = ("SELECT id, workflow, status, mode, created_at, finished_at, error FROM runs ORDER BY created_at DESC, rowid DESC"
           + (" LIMIT ?" if limit else ""))
    return [dict(r) for r in store.query(sql, (int(limit),) if limit else ())]


def runs_by_id(store: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Workflow, status, mode and error of the given runs."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r["id"]: dict(r) for r in store.query(
        f"SELECT id, workflow, status, mode, error FROM runs WHERE id IN ({marks})", tuple(ids))}


def run_summary(store: Any, run_id: str) -> dict[str, Any] | None:
    """One run's id, workflow, status, mode, params (parsed), error and times; None if unknown."""
    row = store.one("SELECT id, workflow, status, mode, params, error, created_at, finished_at FROM runs WHERE id=?",
                    (run_id,))
    return None if row is None else {**dict(row), "params": _json.loads(row["params"])}


def run_counts(store: Any, *, mode: str = "live") -> list[tuple[str, str, int]]:
    """(workflow, status, runs) for every workflow and status that occur, in that order."""
    return [(r[0], r[1], int(r[2])) for r in store.query(
        "SELECT workflow, status, count(*) FROM runs WHERE mode=? GROUP BY 1, 2 ORDER BY 1, 2", (mode,))]


def runs_version(store: Any) -> int:
    """Moves whenever a run is submitted or changes state."""
    return int(store.scalar("SELECT coalesce(max(event_seq), 0) FROM runs") or 0)


def checkpoints_version(store: Any, run_id: str | None = None) -> tuple[int, int]:
    """(checkpoints, newest) of one run's tasks, or of all: moves whenever a step checkpoints or is undone."""
    if run_id is None:
        row = store.one("SELECT count(*), coalesce(max(event_seq), 0) FROM step_rows")
    else:
        row = store.one("SELECT count(*), coalesce(max(s.event_seq), 0) FROM step_rows s JOIN queue q ON q.id = s.task_id"
                        " WHERE q.run_id=?", (run_id,))
    return int(row[0]), int(row[1])


def checkpoint(store: Any, task_id: str, idx: int, phase: str = "do") -> dict[str, Any] | None:
    """A step's checkpoint: name, status, outputs, evidence, confidence, cost (parsed); None if there is none."""
    row = store.one("SELECT name, status, outputs, evidence, confidence, cost FROM steps WHERE task_id=? AND idx=? AND phase=?",
                    (task_id, idx, phase))
    if row is None:
        return None
    return {"name": row["name"], "status": row["status"], "outputs": _json.loads(row["outputs"]),
            "evidence": _json.loads(row["evidence"]), "confidence": row["confidence"], "cost": _json.loads(row["cost"])}


def effects_by_key(store: Any, keys: list[str], *, payload: bool = False) -> dict[str, dict[str, Any]]:
    """Outbox rows (connector, action, status, receipt, error, when applied; the payload if asked) by effect key."""
    keys = [k for k in keys if k]
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    out = {}
    for r in store.query(f"SELECT key, connector, action, status, result, error, applied_at{', payload' if payload else ''}"
                         f" FROM outbox WHERE key IN ({marks})", tuple(keys)):
        d = dict(r)
        d["result"] = _json.loads(d["result"]) if d["result"] else None
        if payload:
            d["payload"] = _json.loads(d["payload"]) if d["payload"] else None
        out[d["key"]] = d
    return out


def effects_version(store: Any) -> int:
    """Moves whenever a side effect is intended, applied, failed or simulated."""
    return int(store.scalar("SELECT coalesce(max(event_seq), 0) FROM outbox") or 0)


def effect_counts(store: Any) -> dict[str, int]:
    """Side effects by outbox status (applied, intended, failed, simulated)."""
    return {r[0]: int(r[1]) for r in store.query("SELECT status, count(*) FROM outbox GROUP BY 1")}
