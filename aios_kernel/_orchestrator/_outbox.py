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

When the target itself cannot say (an e-mail's connection dropped after the
message was handed over), the effect becomes ``unknown`` (``effect.unknown``)
and is never tried again on its own: the runner asks the operator, and
:meth:`Outbox.confirm` (it happened) or a forced :meth:`Outbox.execute` (do
it again) settles it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .._connectors import Connectors, Unknown
from .._errors import ConnectorError, OutcomeUnknown
from .._ids import iso, iso_at, new_id
from .._store import Store, _json


class Outbox:
    """Records intents and outcomes of side effects; see the module docstring."""

    def __init__(self, store: Store, connectors: Connectors, memory: Callable[[], Any] | None = None) -> None:
        self.store = store
        self.connectors = connectors
        self.memory = memory
        """Where what an applied effect establishes is kept, signed (:meth:`Memory.attest`); None: nowhere."""

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.store.one("SELECT * FROM outbox WHERE key=?", (key,))
        return None if row is None else _decode(row)

    def execute(self, *, key: str, connector: str, action: str, payload: dict[str, Any], run_id: str, task_id: str,
                step: str, parent_span: str | None = None, actor: str = "executor", again: bool = False) -> dict[str, Any]:
        """Apply ``action`` once for ``key`` and return the receipt (the earlier one if it was applied).

        An effect whose outcome is ``unknown`` raises :class:`~aios_kernel.OutcomeUnknown`
        until a person says; ``again=True`` is that person saying "do it again".
        """
        row = self.get(key)
        if row is not None and row["status"] == "applied":
            return row["result"] or {}
        if row is not None and row["status"] == "unknown" and not again:
            raise OutcomeUnknown(row["error"] or f"the outcome of {key} is unknown", connector=connector,
                                 hint=(row["result"] or {}).get("hint", ""))
        payload = self.connectors.validate(connector, action, payload)  # a bad payload never becomes an intent
        if again:
            self.connectors.get(connector).retract(key)
        elif row is not None and row["status"] == "intended":
            receipt = self.connectors.was_applied(connector, key)
            if isinstance(receipt, Unknown):
                self._unknown(key, receipt.reason, receipt.hint, run_id, parent_span, started=time.time())
                raise OutcomeUnknown(receipt.reason, connector=connector, hint=receipt.hint)
            if receipt is not None:
                self._outcome(key, receipt, run_id, parent_span, reconciled=True, started=time.time())
                return receipt
        started = time.time()
        self.store.emit("effect.intended", f"effect:{key}", {
            "key": key, "connector": connector, "action": action, "payload": payload, "run_id": run_id,
            "task_id": task_id, "step": step}, actor=actor, correlation_id=run_id)
        price = self.connectors.price(connector)
        try:
            receipt = self.connectors.call(connector, key, action, payload)
        except OutcomeUnknown as exc:
            self._unknown(key, str(exc), exc.hint, run_id, parent_span, started=started, called=True, cost=price)
            raise
        except ConnectorError as exc:
            self.store.emit("effect.failed", f"effect:{key}", {"key": key, "error": str(exc), "span_id": new_id("sp"),
                                                              "parent_span": parent_span, "started_at": iso_at(started),
                                                              "called": exc.called, "cost": price if exc.called else 0.0},
                            actor=actor, correlation_id=run_id)
            raise
        self._outcome(key, receipt, run_id, parent_span, reconciled=False, started=started, cost=price)
        return receipt

    def simulate(self, *, key: str, connector: str, action: str, payload: dict[str, Any], run_id: str, task_id: str,
                 step: str, parent_span: str | None = None, actor: str = "executor") -> dict[str, Any]:
        """Record the effect a live run would have (checked, and previewed by its connector), calling nothing."""
        preview = self.connectors.preview(connector, action, payload)
        self.store.emit("effect.simulated", f"effect:{key}", {
            "key": key, "connector": connector, "action": action, "payload": payload, "run_id": run_id,
            "task_id": task_id, "step": step, "span_id": new_id("sp"), "parent_span": parent_span},
            actor=actor, correlation_id=run_id)
        return {"key": key, "simulated": True, "preview": preview}

    def confirm(self, key: str, *, by: str, run_id: str, parent_span: str | None = None) -> dict[str, Any]:
        """A person says an ``unknown`` effect did happen: it is recorded applied, and never tried again."""
        row = self.get(key)
        if row is None or row["status"] != "unknown":
            return (row or {}).get("result") or {}
        receipt = {"key": key, "confirmed_by": by, "how": "the operator found it had happened"}
        self._outcome(key, receipt, run_id, parent_span, reconciled=True, started=time.time(), actor=f"operator:{by}")
        return receipt

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
                receipt = self.connectors.was_applied(row["connector"], row["key"])
            except ConnectorError:
                out.append((row["key"], "not known yet: the connector could not be asked; asked again on the next resume"))
                continue
            if isinstance(receipt, Unknown):
                self._unknown(row["key"], receipt.reason, receipt.hint, row["run_id"], None, started=time.time())
                out.append((row["key"], "unknown: it may have happened; the operator is asked, it is not repeated"))
            elif receipt is not None:
                self._outcome(row["key"], receipt, row["run_id"], None, reconciled=True, started=time.time())
                out.append((row["key"], "applied before the crash: recorded, not repeated"))
            else:
                out.append((row["key"], "not applied: its task will apply it"))
        return out

    def effects(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM outbox" + (" WHERE run_id=?" if run_id else "") + " ORDER BY created_at"
        return [_decode(r) for r in self.store.query(sql, (run_id,) if run_id else ())]

    def _outcome(self, key: str, receipt: dict[str, Any], run_id: str, parent_span: str | None, *, reconciled: bool,
                 started: float, actor: str = "executor", cost: float = 0.0) -> None:
        # ``cost``: the price of the call this outcome answers (a reconciliation called nothing). The outcome and
        # what it establishes (a signed memory) are written in one transaction: both or neither.
        with self.store.atomic():
            self.store.emit("effect.applied", f"effect:{key}", {
                "key": key, "result": receipt, "reconciled": reconciled, "span_id": new_id("sp"), "parent_span": parent_span,
                "started_at": iso_at(started), "called": not reconciled, "cost": cost}, actor=actor, correlation_id=run_id)
            self._attest(key, receipt, run_id)

    def _attest(self, key: str, receipt: dict[str, Any], run_id: str) -> None:
        row = self.get(key)
        if self.memory is None or row is None:
            return
        learned = self.connectors.get(row["connector"]).learned(row["action"], row["payload"] or {}, receipt)
        if learned is None:
            return
        payload = row["payload"] or {}
        self.memory().attest(
            learned.text, fact=learned.fact, source_ref=f"effect:{key}", event_time=iso(),
            meta={**learned.meta, "connector": row["connector"], "action": row["action"], "effect_key": key, "run_id": run_id},
            client=payload.get("client_id") if isinstance(payload.get("client_id"), str) else None,
            actor=f"connector:{row['connector']}", store=self.store)

    def _unknown(self, key: str, reason: str, hint: str, run_id: str, parent_span: str | None, *, started: float,
                 called: bool = False, cost: float = 0.0) -> None:
        self.store.emit("effect.unknown", f"effect:{key}", {
            "key": key, "error": reason, "hint": hint, "span_id": new_id("sp"), "parent_span": parent_span,
            "started_at": iso_at(started), "called": called, "cost": cost}, actor="executor", correlation_id=run_id)


def _decode(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["payload"] = _json.loads(d["payload"])
    d["result"] = _json.loads(d["result"])
    return d
