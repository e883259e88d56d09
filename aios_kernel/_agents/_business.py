"""Facts about the business that several agents need: who we are, who they are, what day it is."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._entities import Records

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def owner(config: Any) -> str:
    return str(config.get("workspace.owner") or config.get("workspace.name") or "")


def own_address(config: Any) -> str:
    return str(config.get("workspace.email") or "").lower()


def own_domain(config: Any) -> str:
    addr = own_address(config)
    return addr.split("@", 1)[1] if "@" in addr else "\x00"


def first_name(name: str) -> str:
    name = (name or "").strip()
    if "," in name:  # "Lindgren, Maja"
        name = name.split(",", 1)[1].strip()
    return name.split()[0] if name else "there"


def as_of(records: Records, given: str = "") -> date:
    """The business's "today": ``given`` (YYYY-MM-DD), else the newest record's date.

    Working from the records' own latest date keeps a workspace's plans the
    same whenever it is opened (the demo data ends in November 2026).
    """
    return records.today(given)


def add_business_days(day: date, n: int) -> date:
    d = day
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def billing_address(records: Records, client_id: str | None) -> tuple[str, str]:
    """(address, name) to send invoices to: one named in the client's notes, else the main contact."""
    client = records.client(client_id)
    if client and client.get("notes"):
        m = _EMAIL.search(client["notes"])
        if m:
            after = client["notes"][m.end():m.end() + 40]
            named = re.match(r"\s*\(([^)]+)\)", after)
            return m.group(0).lower(), named.group(1) if named else ""
    contact = records.primary_contact(client_id)
    return (contact["email"], contact["name"]) if contact else ("", "")


def email_row(records: Records, artifact_id: str) -> dict[str, Any]:
    """The ingested e-mail ``artifact_id`` (meta parsed); a missing one is a NotFoundError."""
    row = records.artifact(artifact_id)
    if row is None:
        from .._errors import NotFoundError

        raise NotFoundError(f"no artifact {artifact_id!r}", id=artifact_id)
    return row
