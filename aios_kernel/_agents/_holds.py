"""A reply that proposes meeting times holds one of them in the calendar before it goes out.

A scheduling reply drafted by the triage offers times that are free in the
calendar, in the future and in the owner's working hours. When a calendar is
configured, the operator's one decision on such a reply is *which* time to
hold (``triage.hold``, an ``options`` approval): the chosen time goes into the
calendar as a tentative event with the sender as attendee, and the reply is
written again around it (``triage.reply``, template ``reply_hold``: "I have
reserved Thursday 3 December, 10:00–11:00 for us; if that does not suit you,
these would work as well: …") and sent under the same approval.

The order is a saga: the time is held first, then promised. If the reply
cannot go out (the server refuses it, or its outcome is unknown and the
operator leaves it), or the operator cancels the run while it waits, the
hold's compensation (``cancel_event``) deletes the event. The hold is created
only if the time is still free when it is applied (``only_if_free``): a time
taken meanwhile is a clear error on the task, never a double booking.

"Offer the times without holding one" skips the hold; the reply, unchanged,
then comes to the operator for review as any other.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from .._evidence import SENDS
from .._models import render, split_subject
from . import _slots
from ._core_agents import Executor
from ._protocol import Agent, AgentContext, AgentResult, Evidence


def _times(item: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(s) for s in item.get("slots") or []]


def _span(slot: datetime) -> str:
    """``Thursday 3 December, 10:00–11:00``."""
    return f"{_slots.fmt(slot)}–{slot + timedelta(minutes=_slots.SLOT_MINUTES):%H:%M}"


def held_reply(ctx: AgentContext, item: dict[str, Any], held: datetime) -> tuple[str, str]:
    """(subject, body) of the reply that holds ``held``, from the parts the triage drafted it from."""
    parts = dict(item.get("parts") or {})
    others = [s for s in _times(item) if s != held]
    parts["held_time"] = _span(held)
    parts["alternatives"] = ("If that does not suit you, these would work as well:\n\n"
                             + "\n".join(f"- {_slots.fmt(s)}" for s in others)) if others else \
        "If that does not suit you, tell me a time that does."
    subject, body = split_subject(render(ctx.template("reply_hold"), parts, name="reply_hold"))
    return subject or str(item.get("subject") or ""), re.sub(r"\n{3,}", "\n\n", body)  # an empty {answer} leaves no gap


def event(item: dict[str, Any], start: datetime) -> dict[str, Any]:
    """The ``create_event`` payload that holds ``start`` for the reply ``item``: tentative, the sender invited."""
    who = str(item.get("contact_name") or item.get("to") or "")
    client = str(item.get("client_name") or "")
    bare = re.sub(r"^(?:(?:re|aw|sv|fwd?):\s*)+", "", str(item.get("subject") or ""), flags=re.I)
    address = parseaddr(str(item.get("to") or ""))[1]
    payload: dict[str, Any] = {
        "title": f"{bare} – {who}" + (f" ({client})" if client and client != who else ""),
        "start": start.isoformat(), "end": (start + timedelta(minutes=_slots.SLOT_MINUTES)).isoformat(),
        "description": f"Proposed to {item.get('to')} in my reply to “{bare}”; held until they confirm.",
        "tentative": True, "only_if_free": True}
    if address:
        payload["attendees"] = [address]
    return payload


class HoldTime(Agent):
    """The operator's choice of which proposed time to hold; the reply that names it is the evidence shown first."""

    name = "triage.hold"
    version = "1"
    inputs = {"item": dict}
    outputs = {"payload": dict, "title": str}

    def run(self, ctx: AgentContext, *, item: dict[str, Any]) -> AgentResult:
        times = _times(item)
        if not times:
            from .._errors import ValidationError

            raise ValidationError("the reply proposes no time to hold; the step runs only when it does", field="slots")
        options: list[dict[str, Any]] = [
            {"id": f"hold_{n}", "label": f"Hold {_span(t)} and send the reply", "payload": event(item, t)}
            for n, t in enumerate(times, 1)]
        options.append({"id": "no_hold", "label": "Offer the times without holding one (the reply comes to you for review)",
                        "effect": False, "continue": True})
        _, body = held_reply(ctx, item, times[0])
        draft = Evidence(f"{SENDS}{item['email_id']}", body, f"the reply to {item.get('to')}, as it goes out",
                         why="it names the time you hold; the first one is shown")
        evidence = [draft, *(Evidence.from_json(e) for e in item.get("evidence", []))]
        who = item.get("contact_name") or item.get("to")
        return AgentResult({"payload": event(item, times[0]), "options": options, "drafted_by": item.get("drafted_by"),
                            "title": f"Reply to {who} and hold a time in the calendar: “{item.get('subject')}”",
                            "flagged": bool(item.get("flagged")), "flags": list(item.get("flags") or [])},
                           evidence=evidence, confidence=float(item.get("confidence", 1.0) or 1.0),
                           note=f"{len(times)} free time(s) to choose from")


class Reply(Agent):
    """The reply e-mail: as drafted, or written around the time the operator held (``hold`` approved)."""

    name = "triage.reply"
    version = "1"
    inputs = {"item": dict, "hold": dict}
    outputs = {"payload": dict, "title": str}

    def run(self, ctx: AgentContext, *, item: dict[str, Any], hold: dict[str, Any]) -> AgentResult:
        held = hold.get("payload") if hold.get("approved_by") else None
        if held and held.get("start") and item.get("parts"):
            subject, body = held_reply(ctx, item, datetime.fromisoformat(str(held["start"])))
            item = {**item, "subject": subject, "body": body}
        return Executor().run(ctx, item=item, kind="email")


__all__ = ["HoldTime", "Reply", "event", "held_reply"]
