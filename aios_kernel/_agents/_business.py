"""Facts about the business that several agents need: who we are, who they are, what day it is."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from .._store import _json

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


def as_of(store: Any, given: str = "") -> date:
    """The business's "today": ``given`` (YYYY-MM-DD), else the newest record's date.

    Working from the records' own latest date keeps a workspace's plans the
    same whenever it is opened (the demo data ends in November 2026).
    """
    if given:
        return date.fromisoformat(given[:10])
    latest = store.scalar("SELECT max(d) FROM (SELECT max(substr(date,1,10)) AS d FROM artifacts WHERE kind != 'template'"
                          " UNION ALL SELECT max(date) FROM time_entries)")
    return date.fromisoformat(latest[:10]) if latest else datetime.now().date()


def add_business_days(day: date, n: int) -> date:
    d = day
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def contact_by_email(store: Any, email: str) -> dict[str, Any] | None:
    row = store.one("SELECT * FROM contacts WHERE email=?", (email.lower(),))
    return None if row is None else dict(row)


def client_row(store: Any, client_id: str | None) -> dict[str, Any] | None:
    if not client_id:
        return None
    row = store.one("SELECT * FROM clients WHERE id=?", (client_id,))
    if row is None:
        return None
    d = dict(row)
    d["aliases"] = _json.loads(d["aliases"])
    return d


def primary_contact(store: Any, client_id: str | None) -> dict[str, Any] | None:
    if not client_id:
        return None
    row = store.one("SELECT * FROM contacts WHERE client_id=? ORDER BY rowid LIMIT 1", (client_id,))
    return None if row is None else dict(row)


def billing_address(store: Any, client_id: str | None) -> tuple[str, str]:
    """(address, name) to send invoices to: one named in the client's notes, else the main contact."""
    client = client_row(store, client_id)
    if client and client.get("notes"):
        m = _EMAIL.search(client["notes"])
        if m:
            after = client["notes"][m.end():m.end() + 40]
            named = re.match(r"\s*\(([^)]+)\)", after)
            return m.group(0).lower(), named.group(1) if named else ""
    contact = primary_contact(store, client_id)
    return (contact["email"], contact["name"]) if contact else ("", "")


def email_row(store: Any, artifact_id: str) -> dict[str, Any]:
    row = store.one("SELECT * FROM artifacts WHERE id=?", (artifact_id,))
    if row is None:
        from .._errors import NotFoundError

        raise NotFoundError(f"no artifact {artifact_id!r}", id=artifact_id)
    d = dict(row)
    d["meta"] = _json.loads(d["meta"]) or {}
    return d


def handled_items(store: Any, run_id: str, workflow: str, prefix: str) -> set[str]:
    """Keys of fan-out items (``prefix:KEY`` tasks) already handled by other live runs of ``workflow``.

    The run itself and the run it replays are left out, so a replay sees the same items as its source.
    """
    parent = store.scalar("SELECT parent_run_id FROM runs WHERE id=?", (run_id,))
    rows = store.query(
        "SELECT q.name FROM queue q JOIN runs r ON r.id = q.run_id WHERE r.workflow=? AND r.mode='live'"
        " AND r.id != ? AND r.id != ? AND q.name LIKE ? AND q.status NOT IN ('failed','cancelled')",
        (workflow, run_id, parent or "", f"{prefix}:%"))
    return {r[0].split(":", 1)[1] for r in rows}
