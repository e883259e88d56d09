"""Exactly-once side effects through an outbox.

The protocol, for every external action:

1. record the intent (``effect.intended``: key, connector, action, exact payload) and commit;
2. call the connector with the idempotency key;
3. record the outcome (``effect.applied`` with the receipt, or ``effect.failed``).

A crash between 1 and 3 leaves an ``intended`` row. On restart
:meth:`Outbox.reconcile` asks the connector whether that key was applied:
if so, the outcome is recorded (``reconciled``) and the action is never
repeated; if not, the task that owns it runs the step again, which applies
it. A crash before 1 leaves nothing, and the step runs again from its
checkpoint. So a SIGKILL anywhere neither duplicates nor loses an effect.
"""

from __future__ import annotations

import time
from typing import Any

from .._connectors import Connectors
from .._errors import ConnectorError
from .._ids import iso_at, new_id
from .._store import Store, _json


class Outbox:
    """Records intents and outcomes of side effects; see the module docstring."""

    def __init__(self, store: Store, connectors: Connectors) -> None:
        self.store = store
        self.connectors = connectors

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.store.one("SELECT * FROM outbox WHERE key=?", (key,))
        return None if row is None else _decode(row)

    def execute(self, *, key: str, connector: str, action: str, payload: dict[str, Any], run_id: str, task_id: str,
                step: str, parent_span: str | None = None, actor: str = "executor") -> dict[str, Any]:
        """Apply ``action`` once for ``key`` and return the receipt (the earlier one if it was applied)."""
        row = self.get(key)
        if row is not None and row["status"] == "applied":
            return row["result"] or {}
        target = self.connectors.get(connector)
        if row is not None and row["status"] == "intended":
            receipt = target.was_applied(key)
            if receipt is not None:
                self._outcome(key, receipt, run_id, parent_span, reconciled=True, started=time.time())
                return receipt
        started = time.time()
        self.store.emit("effect.intended", f"effect:{key}", {
            "key": key, "connector": connector, "action": action, "payload": payload, "run_id": run_id,
            "task_id": task_id, "step": step}, actor=actor, correlation_id=run_id)
        try:
            receipt = target.apply(key, action, payload)
        except ConnectorError as exc:
            self.store.emit("effect.failed", f"effect:{key}", {"key": key, "error": str(exc), "span_id": new_id("sp"),
                                                              "parent_span": parent_span, "started_at": iso_at(started)},
                            actor=actor, correlation_id=run_id)
            raise
        self._outcome(key, receipt, run_id, parent_span, reconciled=False, started=started)
        return receipt

    def simulate(self, *, key: str, connector: str, action: str, payload: dict[str, Any], run_id: str, task_id: str,
                 step: str, parent_span: str | None = None, actor: str = "executor") -> dict[str, Any]:
        """Record the effect a live run would have, without calling anything."""
        self.store.emit("effect.simulated", f"effect:{key}", {
            "key": key, "connector": connector, "action": action, "payload": payload, "run_id": run_id,
            "task_id": task_id, "step": step, "span_id": new_id("sp"), "parent_span": parent_span},
            actor=actor, correlation_id=run_id)
        return {"key": key, "simulated": True}

    def reconcile(self) -> list[tuple[str, str]]:
        """Settle intents left by a crash: ask each connector whether the key was applied.

        An intent whose task a worker holds right now (leased or running, lease
        not expired) is that worker's to settle, not a crash's leftover.
        """
        out: list[tuple[str, str]] = []
        for row in self.store.query(
                "SELECT o.key, o.connector, o.run_id FROM outbox o LEFT JOIN queue q ON q.id = o.task_id"
                " LEFT JOIN heartbeats h ON h.task_id = q.id WHERE o.status='intended' AND NOT (coalesce(q.status, '')"
                " IN ('leased','running') AND max(coalesce(q.lease_until, 0), coalesce(h.until, 0)) > ?)"
                " ORDER BY o.created_at", (time.time(),)):
            try:
                receipt = self.connectors.get(row["connector"]).was_applied(row["key"])
            except ConnectorError:
                out.append((row["key"], "unknown: the connector could not be asked; retried on the next resume"))
                continue
            if receipt is not None:
                self._outcome(row["key"], receipt, row["run_id"], None, reconciled=True, started=time.time())
                out.append((row["key"], "applied before the crash: recorded, not repeated"))
            else:
                out.append((row["key"], "not applied: its task will apply it"))
        return out

    def effects(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM outbox" + (" WHERE run_id=?" if run_id else "") + " ORDER BY created_at"
        return [_decode(r) for r in self.store.query(sql, (run_id,) if run_id else ())]

    def _outcome(self, key: str, receipt: dict[str, Any], run_id: str, parent_span: str | None, *, reconciled: bool,
                 started: float) -> None:
        self.store.emit("effect.applied", f"effect:{key}", {
            "key": key, "result": receipt, "reconciled": reconciled, "span_id": new_id("sp"), "parent_span": parent_span,
            "started_at": iso_at(started)}, actor="executor", correlation_id=run_id)


def _decode(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["payload"] = _json.loads(d["payload"])
    d["result"] = _json.loads(d["result"])
    return d
