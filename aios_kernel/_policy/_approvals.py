"""Approvals: durable records of what waits for a person, and their decisions.

An approval carries everything needed to decide without digging: *what* will
happen (the exact rendered action payload), *why* (agent and version,
confidence, the policy rule), the *evidence* (memory snippets with their
provenance, untrusted content flagged), the *cost* so far, and the
*options*. Deciding records one event, ``approval.decided``, and nothing
else: the orchestrator reacts to it in the same transaction (the waiting task
goes back in the queue) and a worker carries the run on. A decision is final:
deciding again is a StateError, and nothing is applied twice.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import NotFoundError, StateError, ValidationError
from .._evidence import SENDS, flagged, untrusted
from .._ids import new_id
from .._store import Store, _json
from . import _checks
from ._autonomy import category

if TYPE_CHECKING:
    import polars as pl

OPEN = ("pending", "deferred")
MONEY_FIELDS = ("lines", "total", "subtotal", "amount", "hours", "rate", "currency", "number", "net", "vat", "tax", "ref",
                "issue_date", "month", "buyer")


@dataclass
class Approval:
    """One decision waiting for (or taken by) a person."""

    id: str
    run_id: str
    task_id: str
    step: str
    kind: str
    action: str | None
    title: str
    payload: dict[str, Any]
    why: dict[str, Any]
    evidence: list[dict[str, Any]]
    cost: dict[str, Any]
    options: list[dict[str, Any]]
    status: str
    decision: str | None = None
    choice: str | None = None
    edits: dict[str, Any] | None = None
    reason: str | None = None
    decided_by: str | None = None
    created_at: str = ""
    decided_at: str | None = None
    deferred_until: str | None = None
    _book: ApprovalBook | None = field(default=None, repr=False, compare=False)

    # -- decisions -------------------------------------------------------------------------

    def approve(self, edits: dict[str, Any] | None = None, *, by: str = "operator") -> Approval:
        """Let it happen (with ``edits`` merged into the payload); with options, picks the first."""
        edits, by = _checks.edits(edits, self.payload), _checks.by(by)
        if self.options and self.kind != "action":
            return self.choose(self.options[0]["id"], by=by)
        return self._decide("approved", "approve", edits=edits, by=by)

    def reject(self, reason: str = "", *, by: str = "operator") -> Approval:
        """Do not let it happen; a budget approval stops the run."""
        reason, by = _checks.reason(reason), _checks.by(by)
        if self.kind == "budget":
            return self._decide("chosen", "choose", choice="stop", reason=reason, by=by)
        return self._decide("rejected", "reject", reason=reason or "rejected", by=by)

    def choose(self, option: str, *, by: str = "operator") -> Approval:
        """Pick one of :attr:`options` by id or label."""
        option, by = _checks.option(option), _checks.by(by)
        ids = {o["id"]: o["id"] for o in self.options} | {o.get("label", o["id"]): o["id"] for o in self.options}
        if option not in ids:
            raise ValidationError(f"approval {self.id} has no option {option!r}; choose one of "
                                  f"{', '.join(o['id'] for o in self.options) or '(none: use approve or reject)'}", field="option")
        return self._decide("chosen", "choose", choice=ids[option], by=by)

    def defer(self, until: str | None = None, reason: str = "", *, by: str = "operator") -> Approval:
        """Decide later: it leaves :meth:`ApprovalBook.pending` until ``until`` (ISO time) passes."""
        until, reason, by = _checks.until(until), _checks.reason(reason), _checks.by(by)
        self._book_().defer(self, until=until, reason=reason, by=by)
        return self.refresh()

    def refresh(self) -> Approval:
        fresh = self._book_().get(self.id)
        self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "_book"})
        return self

    def _decide(self, status: str, decision: str, *, choice: str | None = None, edits: dict[str, Any] | None = None,
                reason: str | None = None, by: str = "operator") -> Approval:
        self._book_().decide(self.id, status=status, decision=decision, choice=choice, edits=edits, reason=reason, by=by)
        return self.refresh()

    def _book_(self) -> ApprovalBook:
        if self._book is None:
            raise StateError(f"approval {self.id} is detached from a workspace; get it from wb.approvals", id=self.id)
        return self._book

    # -- reading ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def untrusted(self) -> bool:
        """True when any evidence is untrusted outside content (e.g. a flagged e-mail)."""
        return untrusted(self.evidence)

    @property
    def flagged(self) -> bool:
        """True when evidence was flagged as a prompt injection: never acted on without you."""
        return flagged(self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_book"}

    def __repr__(self) -> str:
        return f"<Approval {self.id} {self.kind} [{self.status}] {self.title}>"

    def __str__(self) -> str:
        lines = [f"approval {self.id} [{self.status}] {self.title}",
                 f"  why: {self.why.get('agent', '')} confidence {self.why.get('confidence', '?')}; "
                 + "; ".join(self.why.get("policy", {}).get("reasons", []))]
        for k, v in self.payload.items():
            text = str(v)
            lines.append(f"  {k}: {text[:200]}{'…' if len(text) > 200 else ''}")
        sends = [e for e in self.evidence if str(e.get("ref") or "").startswith(SENDS)]
        for e in sends:  # what goes out with the action, whole: it is part of what is decided
            lines.append(f"  and then, {e.get('source') or 'sent with it'}:")
            lines += [f"    {ln}" for ln in str(e.get("snippet") or "").splitlines()]
        for e in [e for e in self.evidence if e not in sends][:5]:
            lines.append(f"  evidence{' (UNTRUSTED)' if e.get('untrusted') else ''}: {e.get('ref')}: {str(e.get('snippet', ''))[:120]}")
        if self.options:
            lines.append("  options (--choose ID): " + "; ".join(
                f"{o['id']}: {o['label']}" if o.get("label") else o["id"] for o in self.options))
        lines.append(f"  cost so far: {self.cost}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(f"<tr><th style='text-align:left;vertical-align:top'>{esc(str(k))}</th>"
                       f"<td><pre style='white-space:pre-wrap;margin:0'>{esc(str(v))}</pre></td></tr>" for k, v in self.payload.items())
        flag = "<b style='color:#b35900'>UNTRUSTED</b> "
        ev = "".join(
            f"<li>{flag if e.get('untrusted') else ''}<code>{esc(str(e.get('ref')))}</code> "
            f"<span style='opacity:.7'>{esc(str(e.get('source', '')))}</span>: {esc(str(e.get('snippet', ''))[:240])}</li>"
            for e in self.evidence)
        reasons = "".join(f"<li>{esc(r)}</li>" for r in self.why.get("policy", {}).get("reasons", []))
        opts = "; ".join(f"<code>{esc(o['id'])}</code>" + (f" {esc(str(o['label']))}" if o.get("label") else "")
                         for o in self.options)
        sends = "".join(f"<p style='margin-bottom:0'>and then, {esc(str(e.get('source') or 'sent with it'))}:</p>"
                        f"<pre style='white-space:pre-wrap;margin:0'>{esc(str(e.get('snippet') or ''))}</pre>"
                        for e in self.evidence if str(e.get("ref") or "").startswith(SENDS))
        return (f"<div class='aios-approval'><b>{esc(self.title)}</b> <code>{esc(self.id)}</code> [{esc(self.status)}]"
                f"<table>{rows}</table>{sends}<p>why: {esc(str(self.why.get('agent', '')))} confidence "
                f"{esc(str(self.why.get('confidence', '?')))}</p><ul>{reasons}</ul>"
                + (f"<details open><summary>evidence</summary><ul>{ev}</ul></details>" if ev else "")
                + (f"<p>options: {opts}</p>" if opts else "")
                + f"<p style='opacity:.7'>cost so far: {esc(str(self.cost))}</p></div>")


class ApprovalBook:
    """The approvals of one workspace: ``wb.approvals``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- creating (the runner) -----------------------------------------------------------------

    def request(self, *, run_id: str, task_id: str, step: str, kind: str, title: str, action: str | None = None,
                payload: dict[str, Any] | None = None, why: dict[str, Any] | None = None,
                evidence: list[dict[str, Any]] | None = None, cost: dict[str, Any] | None = None,
                options: list[dict[str, Any]] | None = None, actor: str = "policy") -> str:
        approval_id = new_id("ap")
        self.store.emit("approval.requested", f"approval:{approval_id}", {
            "run_id": run_id, "task_id": task_id, "step": step, "kind": kind, "action": action, "title": title,
            "payload": payload or {}, "why": why or {}, "evidence": evidence or [], "cost": cost or {},
            "options": options or []}, actor=actor, correlation_id=run_id)
        return approval_id

    # -- reading -------------------------------------------------------------------------------

    def get(self, approval_id: str) -> Approval:
        row = self.store.one("SELECT * FROM approvals WHERE id=?", (approval_id,))
        if row is None:
            raise NotFoundError(f"no approval {approval_id!r}; wb.approvals.pending() lists the open ones", id=approval_id)
        return self._load(row)

    def pending(self, *, include_deferred: bool = False) -> list[Approval]:
        """Approvals waiting for a decision, oldest first (deferred ones once their time has come)."""
        from .._ids import iso

        rows = self.store.query(
            "SELECT * FROM approvals WHERE status='pending' OR (status='deferred' AND (? OR deferred_until IS NOT NULL"
            " AND deferred_until <= ?)) ORDER BY created_at, rowid", (int(include_deferred), iso()))
        return [self._load(r) for r in rows]

    def all(self, *, run_id: str | None = None, status: str | None = None) -> list[Approval]:
        clauses, params = [], []
        if run_id:
            clauses.append("run_id=?")
            params.append(run_id)
        if status:
            clauses.append("status=?")
            params.append(status)
        sql = "SELECT * FROM approvals" + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY created_at, rowid"
        return [self._load(r) for r in self.store.query(sql, tuple(params))]

    def frame(self, *, run_id: str | None = None) -> pl.DataFrame:
        import polars as pl

        rows = [{"id": a.id, "run_id": a.run_id, "kind": a.kind, "action": a.action, "title": a.title, "status": a.status,
                 "confidence": a.why.get("confidence"), "untrusted": a.untrusted, "created_at": a.created_at,
                 "decided_at": a.decided_at} for a in self.all(run_id=run_id)]
        return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.pending())

    def __len__(self) -> int:
        return len(self.pending())

    def __repr__(self) -> str:
        items = self.pending()
        return f"<{len(items)} pending approval(s)>" + "".join(f"\n  {a.id} {a.kind:<7} {a.title}" for a in items)

    def _repr_html_(self) -> str:
        items = self.pending()
        rows = "".join(f"<tr><td><code>{html.escape(a.id)}</code></td><td>{html.escape(a.kind)}</td>"
                       f"<td>{html.escape(a.title)}</td><td>{'⚠ untrusted' if a.untrusted else ''}</td></tr>" for a in items)
        return f"<b>{len(items)} pending approval(s)</b><table>{rows}</table>"

    def version(self) -> tuple[int, int]:
        """(approvals, newest change): moves on every request, decision or deferral (what a view polls)."""
        row = self.store.one("SELECT count(*), coalesce(max(event_seq), 0) FROM approvals")
        return int(row[0]), int(row[1])

    def recent_decisions(self, limit: int = 20) -> list[dict[str, Any]]:
        """The last decided approvals, newest first, without their payloads."""
        rows = self.store.query("SELECT id, run_id, kind, action, title, status, decision, choice, reason, decided_by,"
                                " decided_at FROM approvals WHERE decided_at IS NOT NULL ORDER BY decided_at DESC, rowid DESC"
                                " LIMIT ?", (int(limit),))
        return [dict(r) for r in rows]

    # -- deciding ------------------------------------------------------------------------------

    def decide(self, approval_id: str, *, status: str, decision: str, choice: str | None = None,
               edits: dict[str, Any] | None = None, reason: str | None = None, by: str = "operator") -> None:
        """Record a decision (``approval.decided``); a second decision is refused."""
        with self.store.atomic():
            current = self.get(approval_id)
            if not current.is_open:
                raise StateError(
                    f"approval {approval_id} was already {current.status} ({current.decision}"
                    f"{': ' + current.choice if current.choice else ''}) by {current.decided_by} at {current.decided_at}; "
                    "a decision is final and was applied once", id=approval_id, state=current.status)
            if edits:
                self._check_edits(current, edits)
            self.store.emit("approval.decided", f"approval:{approval_id}", {
                "status": status, "decision": decision, "choice": choice, "edits": edits, "reason": reason},
                actor=by, correlation_id=current.run_id)

    def defer(self, approval: Approval, *, until: str | None, reason: str, by: str) -> None:
        with self.store.atomic():
            current = self.get(approval.id)
            if not current.is_open:
                raise StateError(f"approval {approval.id} was already {current.status}; it cannot be deferred",
                                 id=approval.id, state=current.status)
            self.store.emit("approval.deferred", f"approval:{approval.id}", {"until": until, "reason": reason},
                            actor=by, correlation_id=current.run_id)

    def approve_all(self, *, by: str = "operator") -> list[Approval]:
        """Approve every pending approval (budget approvals: continue); returns them decided."""
        done = []
        for a in self.pending():
            try:
                done.append(a.approve(by=by))
            except StateError:
                continue  # decided meanwhile by someone else: theirs stands
        return done

    def _check_edits(self, approval: Approval, edits: dict[str, Any]) -> None:
        if not isinstance(edits, dict):
            raise ValidationError("edits must be a dict of payload fields to change", field="edits")
        for key in edits:
            if key not in approval.payload:
                raise ValidationError(f"approval {approval.id} has no payload field {key!r} to edit "
                                      f"(fields: {', '.join(approval.payload)})", field=key)
            if approval.action and category(approval.action) == "money" and key in MONEY_FIELDS:
                raise ValidationError(f"{key!r} of {approval.action} is computed from the timesheets and the rate card, never "
                                      "typed: fix the source data and run the workflow again", field=key)

    def _load(self, row: Any) -> Approval:
        d = dict(row)
        for col in ("payload", "why", "evidence", "cost", "options", "edits"):
            d[col] = _json.loads(d[col])
        d.pop("event_seq", None)
        return Approval(**d, _book=self)
