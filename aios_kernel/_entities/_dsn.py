"""Delivery status notifications (RFC 3464): what a bounce or a delivery report says about mail we sent.

A DSN is ``multipart/report; report-type=delivery-status``: a human-readable
part, a ``message/delivery-status`` part (per-message fields, then one block
per recipient: ``Final-Recipient``, ``Action``, ``Status``,
``Diagnostic-Code``), and usually the original message or its headers, which
carry the Message-ID it reports on.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import Message
from typing import Any

from .._values import printable

ACTIONS = {"failed": "bounced", "delayed": "delayed", "delivered": "delivered", "relayed": "relayed", "expanded": "delivered"}
"""RFC 3464 ``Action`` values and the fact each establishes about the original message."""
_MID = re.compile(r"<[^<>\s]{1,500}>")


def delivery_report(msg: Message) -> dict[str, Any] | None:
    """What a DSN reports (``{"message_id", "fact", "recipients": [...]}``), or None for any other message."""
    if msg.get_content_type() != "multipart/report" or (msg.get_param("report-type") or "").lower() != "delivery-status":
        return None
    status_part, original = None, None
    for part in msg.get_payload() if isinstance(msg.get_payload(), list) else []:
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            status_part = part
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            original = part
    if status_part is None:
        return None
    recipients = [r for r in (_recipient(block) for block in _blocks(status_part)[1:]) if r]
    if not recipients:
        return None
    facts = {r["fact"] for r in recipients}
    fact = "bounced" if "bounced" in facts else "delayed" if "delayed" in facts else sorted(facts)[0]
    return {"message_id": _original_id(original), "fact": fact, "recipients": recipients[:50]}


def _blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a ``message/delivery-status`` part (per-message first, then one per recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 parses the blocks as header-only messages
        return [{k.lower(): printable(str(v)) for k, v in sub.items()} for sub in payload if isinstance(sub, Message)]
    text = payload if isinstance(payload, str) else ""
    out = []
    for chunk in re.split(r"\r?\n\s*\r?\n", text.strip()):
        fields: dict[str, str] = {}
        for line in re.sub(r"\r?\n[ \t]+", " ", chunk).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip().lower()] = printable(value.strip())
        if fields:
            out.append(fields)
    return out


def _recipient(block: dict[str, str]) -> dict[str, str] | None:
    action = block.get("action", "").strip().lower()
    if action not in ACTIONS:
        return None
    who = (block.get("final-recipient") or block.get("original-recipient") or "").split(";", 1)[-1].strip()
    return {"recipient": who[:320], "fact": ACTIONS[action], "status": block.get("status", "")[:20],
            "diagnostic": block.get("diagnostic-code", "").split(";", 1)[-1].strip()[:300]}


def _original_id(part: Message | None) -> str:
    if part is None:
        return ""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        headers = payload[0]
    else:
        text = payload if isinstance(payload, str) else ""
        headers = email.message_from_string(text, policy=email.policy.compat32)
    found = _MID.search(str(headers.get("Message-ID", "") or ""))
    return found.group(0) if found else ""
