"""``Records``: the typed read API of the business records, for the layers above.

Agents, the memory layer, the workbench and the reports ask these questions
instead of querying the entity tables; the tables stay this layer's to
change. Every method reads the current projection; JSON columns come back
parsed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .._store import Store, _json
from ._records import get, rows
from ._schema import TABLES

ENTITY_TABLES = ("clients", "contacts", "projects", "artifacts", "deliverables", "tasks", "time_entries", "rates")


class Records:
    """Read-only questions about one workspace's clients, contacts, projects, artifacts and time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, table: str) -> list[dict[str, Any]]:
        """Current rows of one entity table (``clients``, ``projects``, ``artifacts`` ...)."""
        return rows(self.store, table)

    # -- counts ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per entity table."""
        return {t: int(self.store.scalar(f"SELECT count(*) FROM {t}")) for t in ENTITY_TABLES}

    def rejections(self) -> list[tuple[str, str]]:
        """Source files ingest refused: (path, reason and fix)."""
        return [(r["source_path"], r["error"]) for r in rows(self.store, "ingest_rejections")]

    # -- people and clients ----------------------------------------------------------------

    def client(self, client_id: str | None) -> dict[str, Any] | None:
        return get(self.store, "clients", client_id) if client_id else None

    def clients(self) -> list[dict[str, Any]]:
        return rows(self.store, "clients")

    def projects(self) -> list[dict[str, Any]]:
        return rows(self.store, "projects")

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        found = rows(self.store, "contacts", "email=?", (email.lower(),))
        return found[0] if found else None

    def contact_named(self, name: str) -> dict[str, Any] | None:
        """The contact called ``name``, or known by it as an alias."""
        found = rows(self.store, "contacts", "name=? OR aliases LIKE ?", (name, f'%"{name}"%'))
        return found[0] if found else None

    def primary_contact(self, client_id: str | None) -> dict[str, Any] | None:
        """A client's first contact (the one its row in clients.csv named)."""
        if not client_id:
            return None
        found = rows(self.store, "contacts", "client_id=?", (client_id,))
        return found[0] if found else None

    # -- artifacts -------------------------------------------------------------------------

    def artifact(self, artifact_id: str) -> dict[str, Any] | None:
        return get(self.store, "artifacts", artifact_id)

    def artifacts(self, *, kinds: tuple[str, ...] = (), since: str | None = None, until: str | None = None,
                  title_like: str | None = None, id_or_title: str | None = None, newest_first: bool = False,
                  limit: int | None = None) -> list[dict[str, Any]]:
        """Artifacts in date order (templates only when asked for by kind), filtered by kind, date and title."""
        clauses, params = [], []
        if kinds:
            clauses.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        else:
            clauses.append("kind != 'template'")
        if since:
            clauses.append("date >= ?")
            params.append(since)
        if until:
            clauses.append("date <= ?")
            params.append(until)
        if title_like:
            clauses.append("lower(title) LIKE ?")
            params.append(f"%{title_like.lower()}%")
        if id_or_title:
            clauses.append("(id=? OR title LIKE ?)")
            params.extend([id_or_title, f"%{id_or_title}%"])
        order = "date DESC, id DESC" if newest_first else "date, id"
        sql = f"SELECT * FROM artifacts WHERE {' AND '.join(clauses)} ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else "")
        out = []
        for r in self.store.query(sql, tuple(params)):
            d = dict(r)
            d["meta"] = _json.loads(d["meta"]) or {}
            out.append(d)
        return out

    def emails(self) -> list[dict[str, Any]]:
        """Every ingested e-mail, oldest first."""
        return self.artifacts(kinds=("email",))

    def template(self, name: str) -> str | None:
        """The body of the workspace's template called ``name`` (its file's stem), or None."""
        row = self.store.one("SELECT body FROM artifacts WHERE kind='template' AND title=? ORDER BY rowid DESC LIMIT 1",
                             (name,))
        return None if row is None else str(row[0])

    # -- time and money --------------------------------------------------------------------

    def rates(self) -> list[dict[str, Any]]:
        return rows(self.store, "rates")

    def billable_entries(self, month: str) -> list[dict[str, Any]]:
        """Time entries of ``month`` (``YYYY-MM``) with their project's code, name, rate key and client."""
        return [dict(r) for r in self.store.query(
            "SELECT t.id, t.date, t.hours, t.description, p.id AS project_id, p.code, p.name, p.rate_key, p.client_id"
            " FROM time_entries t JOIN projects p ON p.id = t.project_id WHERE substr(t.date,1,7)=? ORDER BY p.code, t.date, t.id",
            (month,))]

    def latest_date(self) -> date | None:
        """The newest date among artifacts (templates aside) and time entries: the business's "today"."""
        latest = self.store.scalar("SELECT max(d) FROM (SELECT max(substr(date,1,10)) AS d FROM artifacts WHERE kind != 'template'"
                                   " UNION ALL SELECT max(date) FROM time_entries)")
        return date.fromisoformat(latest[:10]) if latest else None

    def today(self, given: str = "") -> date:
        """The business's "today": ``given`` (YYYY-MM-DD), else the newest record's date, else the clock's."""
        if given:
            return date.fromisoformat(given[:10])
        return self.latest_date() or datetime.now().date()


__all__ = ["ENTITY_TABLES", "TABLES", "Records"]
