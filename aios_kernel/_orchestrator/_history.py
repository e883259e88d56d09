"""What agents may know of other runs: which items were handled, what earlier runs found.

The orchestrator's answer to :class:`~aios_kernel._agents.RunHistory`. A run
and the run it replays are always left out, so a replay sees the same items
as its source.
"""

from __future__ import annotations

from typing import Any

from .._store import Store, _json


class History:
    """Read-only questions about runs, for agents."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _excluded(self, run_id: str) -> tuple[str, str]:
        parent = self.store.scalar("SELECT parent_run_id FROM runs WHERE id=?", (run_id,))
        return run_id, parent or ""

    def handled(self, run_id: str, workflow: str, prefix: str) -> set[str]:
        """Keys of ``prefix:KEY`` tasks that other live runs of ``workflow`` handled (not failed or cancelled)."""
        rows = self.store.query(
            "SELECT q.name FROM queue q JOIN runs r ON r.id = q.run_id WHERE r.workflow=? AND r.mode='live'"
            " AND r.id NOT IN (?, ?) AND q.name LIKE ? AND q.status NOT IN ('failed','cancelled')",
            (workflow, *self._excluded(run_id), f"{prefix}:%"))
        return {r[0].split(":", 1)[1] for r in rows}

    def earlier_outputs(self, run_id: str, workflow: str, step: str) -> list[dict[str, Any]]:
        """Outputs of ``step`` in the main task of other live runs of ``workflow`` whose main task succeeded."""
        rows = self.store.query(
            "SELECT s.outputs FROM steps s JOIN queue q ON q.id = s.task_id JOIN runs r ON r.id = q.run_id"
            " WHERE r.workflow=? AND r.mode='live' AND r.id NOT IN (?, ?) AND q.name='main'"
            " AND q.status='succeeded' AND s.name=? AND s.phase='do'", (workflow, *self._excluded(run_id), step))
        return [_json.loads(r[0]) or {} for r in rows]

    def item_outputs(self, run_id: str, workflow: str, prefix: str, step: str) -> dict[str, list[dict[str, Any]]]:
        """Per key, outputs of ``step`` that succeeded in ``prefix:KEY`` tasks of other live runs of ``workflow``, oldest first."""
        rows = self.store.query(
            "SELECT q.name, s.outputs FROM steps s JOIN queue q ON q.id = s.task_id JOIN runs r ON r.id = q.run_id"
            " WHERE r.workflow=? AND r.mode='live' AND r.id NOT IN (?, ?) AND q.name LIKE ? AND s.name=? AND s.phase='do'"
            " AND s.status='succeeded' ORDER BY s.event_seq", (workflow, *self._excluded(run_id), f"{prefix}:%", step))
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r[0].split(":", 1)[1], []).append(_json.loads(r[1]) or {})
        return out
