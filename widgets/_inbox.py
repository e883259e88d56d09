"""The approval inbox: every decision waiting for you, with what, why, evidence and cost, and the buttons.

Decisions go through ``wb.approvals`` (one event, ``approval.decided``; the
orchestrator puts the waiting task back in the queue in the same
transaction). The click does nothing more: the workbench's background worker
carries the run on (it is woken at once), never the front-end's thread, so a
slow mail server cannot freeze the notebook; the card follows the effect
through the poll. A decision taken elsewhere (another notebook, the CLI, a
headless run) reaches the card the same way; deciding an approval that was
decided meanwhile is refused by the approval book and shown on the card,
never applied twice.
"""

from __future__ import annotations

from typing import Any

import traitlets as t

from aios_kernel._errors import AiosError, StateError, ValidationError

from aios_kernel._orchestrator import effects_by_key, effects_version, runs_by_id

from . import _cards
from ._base import WorkbenchWidget, asset, jsonable

DECIDED_KEPT = 50
"""Decided cards kept visible in one widget (the newest)."""
MAX_CARDS = 200
"""Open cards sent to the front-end at once (oldest first); the counts stay exact."""


class ApprovalInbox(WorkbenchWidget):
    """The approvals of a workspace as cards: Approve, Edit, Reject (with a reason), Defer, or an option.

    ``ApprovalInbox(wb)`` (or ``%aios inbox`` / ``wb.inbox()``). Python can
    decide as the buttons do: :meth:`approve`, :meth:`edit`, :meth:`reject`,
    :meth:`choose`, :meth:`defer`; each returns the reply the card got.
    """

    _esm = asset("common.js", "inbox.js")
    _css = asset("common.css", "inbox.css")

    items = t.List().tag(sync=True)
    """Open approvals (pending, then deferred) as cards."""
    decided = t.List().tag(sync=True)
    """Approvals shown by this widget and decided since (here or elsewhere), newest first."""
    pending_count = t.Int(0).tag(sync=True)
    deferred_count = t.Int(0).tag(sync=True)
    more = t.Int(0).tag(sync=True)
    """Open approvals beyond the cards shown (see ``MAX_CARDS``)."""
    last_decision = t.Dict().tag(sync=True)
    """The workspace's most recent decision: id, title, decision, by, at, reason, edited fields."""

    def __init__(self, wb: Any = None, *, actor: str = "operator", live: bool = True, poll_s: float = 1.0,
                 **kwargs: Any) -> None:
        self.actor = actor
        self._shown: set[str] = set()
        self._errors: dict[str, dict[str, Any]] = {}
        super().__init__(wb, live=live, poll_s=poll_s, **kwargs)

    # -- Python API (the same paths the buttons take) --------------------------------------------

    def approve(self, id: str) -> dict[str, Any]:
        return self.handle({"op": "approve", "id": id})

    def edit(self, id: str, **fields: Any) -> dict[str, Any]:
        """Approve with ``fields`` changed (as typed: text, lists as comma-separated text)."""
        return self.handle({"op": "edit", "id": id, "edits": fields})

    def reject(self, id: str, reason: str) -> dict[str, Any]:
        return self.handle({"op": "reject", "id": id, "reason": reason})

    def choose(self, id: str, option: str) -> dict[str, Any]:
        return self.handle({"op": "choose", "id": id, "option": option})

    def defer(self, id: str, until: str | None = None, reason: str = "") -> dict[str, Any]:
        return self.handle({"op": "defer", "id": id, "until": until, "reason": reason})

    def card(self, id: str) -> dict[str, Any]:
        """The card of approval ``id`` as the front-end has it (open or decided)."""
        for c in [*self.items, *self.decided]:
            if c["id"] == id:
                return c
        raise KeyError(id)

    # -- state ------------------------------------------------------------------------------------

    def _book(self) -> Any:
        from aios_kernel._policy import ApprovalBook

        # A reading book on this widget's own connection; decisions go through the workbench's.
        return ApprovalBook(self._reader)

    def probe(self) -> Any:
        # decisions, and the effects a worker carries out after them (a decided card shows its effect)
        return (*self._book().version(), effects_version(self._reader))

    def refresh(self) -> None:
        book = self._book()
        open_ = book.pending(include_deferred=True)
        open_.sort(key=lambda a: (a.status != "pending", a.created_at))
        open_ids = {a.id for a in open_}
        self._shown |= open_ids
        gone = []
        for aid in self._shown - open_ids:
            try:
                gone.append(book.get(aid))
            except AiosError:
                continue
        gone.sort(key=lambda a: a.decided_at or "", reverse=True)
        gone = gone[:DECIDED_KEPT]
        self._shown = open_ids | {a.id for a in gone}  # older decided cards drop out of view, and of the reads
        runs = runs_by_id(self._reader, sorted({a.run_id for a in [*open_, *gone]}))
        effects = effects_by_key(self._reader, [a.why.get("key") for a in gone])
        last = book.recent_decisions(1)
        with self.hold_sync():
            self.items = [_cards.card(a, run=runs.get(a.run_id), error=self._errors.get(a.id)) for a in open_[:MAX_CARDS]]
            self.more = max(len(open_) - MAX_CARDS, 0)
            self.decided = [_cards.card(a, run=runs.get(a.run_id), effect=effects.get(a.why.get("key")),
                                        error=self._errors.get(a.id)) for a in gone]
            self.pending_count = sum(1 for a in open_ if a.status == "pending")
            self.deferred_count = len(open_) - self.pending_count
            self.last_decision = jsonable(_last(last[0])) if last else {}
            self.version = int(max(self._seen[1:])) if self._seen else 0

    # -- operations from the front-end ------------------------------------------------------------

    def _op_approve(self, req: dict[str, Any]) -> str:
        return self._decide(req, lambda a: a.approve(by=self.actor), "approved")

    def _op_edit(self, req: dict[str, Any]) -> str:
        def do(a: Any) -> Any:
            edits = _cards.parse_edits(a.kind, a.action, a.payload, req.get("edits") or {})
            return a.approve(edits=edits or None, by=self.actor)

        return self._decide(req, do, "approved with edits")

    def _op_reject(self, req: dict[str, Any]) -> str:
        reason = str(req.get("reason") or "").strip()

        def do(a: Any) -> Any:
            if not reason:
                raise ValidationError("say why it is rejected; the reason is recorded with the decision", field="reason")
            return a.reject(reason, by=self.actor)

        return self._decide(req, do, "rejected")

    def _op_choose(self, req: dict[str, Any]) -> str:
        return self._decide(req, lambda a: a.choose(str(req.get("option") or ""), by=self.actor), "chose")

    def _op_defer(self, req: dict[str, Any]) -> str:
        return self._decide(req, lambda a: a.defer(until=req.get("until") or None, reason=str(req.get("reason") or ""),
                                                    by=self.actor), "deferred")

    def _op_refresh(self, req: dict[str, Any]) -> str:
        self._seen = self.probe()
        self.refresh()
        return ""

    def _decide(self, req: dict[str, Any], do: Any, verb: str) -> str:
        aid = str(req.get("id") or "")
        if not aid:
            raise ValidationError("which approval? the request has no id", field="id")
        self._shown.add(aid)
        try:
            approval = self._wb.approvals.get(aid)
            decided = do(approval)
        except StateError as exc:
            # Decided meanwhile (elsewhere, or a second click): theirs stands, nothing is applied again.
            self._errors[aid] = {"message": f"not applied again: {exc}", "field": ""}
            self._sync()
            raise
        except AiosError as exc:
            self._errors[aid] = {"message": str(exc), "field": getattr(exc, "field", None) or ""}
            self._sync()
            raise
        self._errors.pop(aid, None)
        self._sync()
        message = f"{verb}: {decided.title}"
        if not decided.is_open:
            worker = getattr(self._wb, "worker", None)
            if worker is not None and worker.running:
                worker.wake()  # the worker carries the run on; this thread only records the decision
            else:
                message += " (no worker is running here: `aios resume` or wb.resume() carries the run on)"
        return message

    def _sync(self) -> None:
        self._seen = self.probe()
        self.refresh()

    def __repr__(self) -> str:
        if self.error:
            return super().__repr__()
        return f"<ApprovalInbox {self.pending_count} pending, {self.deferred_count} deferred, {len(self.decided)} decided here>"


def _last(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"], "decision": row["decision"], "status": row["status"],
            "choice": row["choice"], "reason": row["reason"], "by": row["decided_by"], "at": row["decided_at"]}
