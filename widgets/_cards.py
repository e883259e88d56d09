"""An approval as the inbox shows it: a card, its editable fields, and edits checked before anything runs."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aios_kernel._errors import ValidationError
from aios_kernel._evidence import SENDS
from aios_kernel._policy import category
from aios_kernel._policy._approvals import MONEY_FIELDS

from ._base import jsonable

ADDRESS_FIELDS = ("to", "cc", "bcc", "reply_to")
NEVER_EDITED = ("from", "email_id", "flags", "in_reply_to", "attachment", "attachments", "number", "invoice_number", "ref",
                "key", "channel",
                "breaches", "next_step", "agent")
"""Facts about the world or references to it, not wording: fixing them means fixing the source."""
MONEY_CONTEXT = ("client", "project", "period")
"""On money actions these come from the records the amounts were computed from."""
LONG_FIELDS = ("body", "text", "document", "notes", "description", "message", "content")

_ADDRESS = re.compile(r"^(?:[^<>]*<)?([^@\s<>,;]+@[^@\s<>,;]+\.[A-Za-z]{2,})>?$")
_LIST_SPLIT = re.compile(r"[,;\n]")


def action_format(kind: str, action: str | None, payload: dict[str, Any]) -> str:
    """How the card renders what will happen: email, invoice, post, calendar, quarantine, budget or generic."""
    name = (action or "").lower()
    if kind == "budget":
        return "budget"
    if "quarantine" in name or ("email_id" in payload and "flags" in payload):
        return "quarantine"
    if "lines" in payload and "total" in payload:
        return "invoice"
    if any(w in name for w in ("calendar", "event", "meeting", "reschedule", "schedule")) or "start" in payload:
        return "calendar"
    if "publish" in name or "post" in name or ("channel" in payload and "body" in payload):
        return "post"
    if "subject" in payload and "body" in payload:
        return "email"
    return "generic"


def editable_fields(kind: str, action: str | None, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The payload fields a person may reword before approving (text, and lists of text)."""
    if kind != "action":
        return []
    money = bool(action) and category(action) == "money"
    out = []
    for name, value in payload.items():
        if name in NEVER_EDITED or name.endswith("_id") or (money and (name in MONEY_FIELDS or name in MONEY_CONTEXT)):
            continue
        if isinstance(value, str):
            typ = "text"
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            typ = "list"
        else:
            continue
        text = ", ".join(value) if typ == "list" else value
        out.append({"name": name, "label": name.replace("_", " "), "type": typ, "value": text,
                    "multiline": typ == "text" and (name in LONG_FIELDS or "\n" in text or len(text) > 90),
                    "address": name in ADDRESS_FIELDS, "date": _is_date_field(name),
                    "required": bool(value)})
    return out


def _is_date_field(name: str) -> bool:
    return name == "date" or name.endswith("_date") or name in ("due", "start_date", "end_date")


def parse_edits(kind: str, action: str | None, payload: dict[str, Any], raw: Any) -> dict[str, Any]:
    """The changed fields of ``raw`` (field -> text as typed), converted and checked; a ValidationError names the field."""
    if not isinstance(raw, dict):
        raise ValidationError("edits must be a dict of field -> new text", field="edits")
    fields = {f["name"]: f for f in editable_fields(kind, action, payload)}
    edits: dict[str, Any] = {}
    for name, value in raw.items():
        f = fields.get(name)
        if f is None:
            allowed = ", ".join(fields) or "none"
            raise ValidationError(f"{name!r} cannot be edited on this approval (editable: {allowed}); amounts and "
                                  "references come from the records: fix those and run the workflow again", field=name)
        if not isinstance(value, (str, list)):
            raise ValidationError(f"{f['label']} must be text, got {type(value).__name__}", field=name)
        if f["type"] == "list":
            parts = value if isinstance(value, list) else _LIST_SPLIT.split(value)
            new: Any = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
            empty = not new
        else:
            new = value if isinstance(value, str) else ", ".join(value)
            empty = not new.strip()
        if f["required"] and empty:
            raise ValidationError(f"{f['label']} cannot be empty", field=name)
        if f["address"] and not empty:
            for addr in (new if isinstance(new, list) else [new.strip()]):
                if not _ADDRESS.match(addr):
                    raise ValidationError(f"{addr!r} in {f['label']} is not an e-mail address (name@example.com)", field=name)
        if f["date"] and not empty:
            try:
                date.fromisoformat(new.strip())
            except ValueError:
                raise ValidationError(f"{f['label']} must be a date like 2026-12-01, got {new!r}", field=name) from None
            new = new.strip()
        if new != payload.get(name):
            edits[name] = new
    return edits


def card(a: Any, *, run: dict[str, Any] | None = None, effect: dict[str, Any] | None = None,
         error: dict[str, Any] | None = None) -> dict[str, Any]:
    """One approval as the front-end draws it (plain JSON)."""
    why = a.why or {}
    policy = why.get("policy") or {}
    return jsonable({
        "id": a.id, "run_id": a.run_id, "task_id": a.task_id, "step": a.step, "kind": a.kind, "action": a.action,
        "title": a.title, "format": action_format(a.kind, a.action, a.payload), "payload": a.payload,
        "fields": editable_fields(a.kind, a.action, a.payload),
        "workflow": (run or {}).get("workflow"), "run_status": (run or {}).get("status"),
        "why": {"agent": why.get("agent"), "confidence": why.get("confidence"), "reasons": policy.get("reasons") or [],
                "rule": policy.get("rule"), "mode": policy.get("mode"), "note": why.get("note"),
                "drafted_by": why.get("drafted_by"), "connector": why.get("connector"), "key": why.get("key")},
        "evidence": [{"ref": e.get("ref"), "source": e.get("source"), "snippet": e.get("snippet"),
                      "untrusted": bool(e.get("untrusted")), "flags": e.get("flags") or [], "why": e.get("why"),
                      "score": e.get("score")} for e in (a.evidence or []) if not _sends(e)],
        "sends": [{"source": e.get("source"), "text": e.get("snippet")} for e in (a.evidence or []) if _sends(e)],
        "untrusted": a.untrusted, "flagged": any(e.get("flags") for e in (a.evidence or [])), "cost": a.cost or {},
        "options": [{"id": o.get("id"), "label": o.get("label") or o.get("id"), "effect": o.get("effect", True),
                     "payload": o.get("payload")} for o in (a.options or [])],
        "status": a.status, "decision": a.decision, "choice": a.choice, "reason": a.reason, "decided_by": a.decided_by,
        "decided_at": a.decided_at, "edits": a.edits, "deferred_until": a.deferred_until, "created_at": a.created_at,
        "effect": _effect(effect), "error": (error or {}).get("message", ""), "error_field": (error or {}).get("field") or "",
    })


def _sends(e: dict[str, Any]) -> bool:
    return str(e.get("ref") or "").startswith(SENDS)


def _effect(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    result = row.get("result") or {}
    return {"status": row["status"], "connector": row["connector"], "action": row["action"], "error": row.get("error"),
            "line": result.get("line") if isinstance(result, dict) else None, "applied_at": row.get("applied_at")}
