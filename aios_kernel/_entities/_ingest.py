"""Loading a business folder (the layout of ``data/``) into the store.

Ingest is idempotent: records get stable ids from their natural keys, an
unchanged record writes no event, and duplicate spellings of one client or
contact are reconciled into one record with aliases. A file that cannot be
read is recorded as a rejection (with the reason and the fix) and skipped;
everything else is still ingested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import IngestError, WorkspaceError
from .._ids import new_id, stable_id
from .._store import Store
from . import _records
from ._reconcile import client_keys, email_domain, group, normalise_name
from ._sources import Email, file_hash, read_csv, read_email, read_note

ACTOR = "ingest"


@dataclass
class IngestReport:
    """What one ingest did, per kind: records written, unchanged, and rejected files."""

    source: Path
    written: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    reconciled: list[tuple[str, list[str]]] = field(default_factory=list)

    def count(self, kind: str, changed: bool) -> None:
        target = self.written if changed else self.unchanged
        target[kind] = target.get(kind, 0) + 1

    @property
    def total_written(self) -> int:
        return sum(self.written.values())

    def summary(self) -> str:
        lines = [f"ingested {self.source}: {self.total_written} records written, {sum(self.unchanged.values())} unchanged"]
        for kind in sorted(set(self.written) | set(self.unchanged)):
            lines.append(f"  {kind:<12} {self.written.get(kind, 0):>4} new/changed {self.unchanged.get(kind, 0):>4} unchanged")
        for canonical, aliases in self.reconciled:
            lines.append(f"  reconciled: {canonical!r} also spelled {', '.join(map(repr, aliases))}")
        for path, error in self.rejected:
            lines.append(f"  rejected {path}: {error}")
        return "\n".join(lines)


class Resolver:
    """Finds a client by any of its spellings, contact addresses or domain."""

    def __init__(self, store: Store) -> None:
        self.by_key: dict[str, str] = {}
        for c in _records.rows(store, "clients"):
            for name in [c["name"], *c["aliases"]]:
                self.by_key[f"name:{normalise_name(name)}"] = c["id"]
            if c["domain"]:
                self.by_key[f"domain:{c['domain'].lower()}"] = c["id"]
        for p in _records.rows(store, "contacts"):
            if p["client_id"]:
                self.by_key[f"email:{p['email']}"] = p["client_id"]

    def client(self, name: str = "", email: str = "") -> str | None:
        for key in (f"email:{email.lower()}" if email else "", f"domain:{email_domain(email)}" if email else "",
                    f"name:{normalise_name(name)}" if name else ""):
            if key and key in self.by_key:
                return self.by_key[key]
        return None


def ingest_folder(store: Store, folder: str | Path, *, on_artifact: Callable[[dict[str, Any]], None] | None = None) -> IngestReport:
    """Ingest every known file of ``folder``; see the module docstring."""
    folder = Path(folder)
    if not folder.is_dir():
        raise WorkspaceError(f"{folder} is not a folder of business data (expected clients.csv, notes/, emails/ ...)", path=folder)
    report = IngestReport(folder)
    corr = new_id("ingest")

    def write(table: str, row: dict[str, Any]) -> None:
        changed = _records.upsert(store, table, row, actor=ACTOR, correlation_id=corr) is not None
        report.count(_records.KIND_OF_TABLE[table], changed)
        if changed and table == "artifacts" and on_artifact is not None:
            on_artifact(row)

    def guarded(path: Path, fn: Callable[[], None]) -> None:
        # One file, one transaction: a file that fails halfway writes nothing.
        try:
            with store.atomic():
                fn()
                _clear_rejection(store, folder, path)
        except IngestError as exc:
            _reject(store, report, folder, path, str(exc), corr)

    if (folder / "clients.csv").exists():
        guarded(folder / "clients.csv", lambda: _clients(folder / "clients.csv", write, report))
    if (folder / "rate_card.csv").exists():
        guarded(folder / "rate_card.csv", lambda: _rates(folder / "rate_card.csv", write))
    resolver = Resolver(store)
    if (folder / "projects.csv").exists():
        guarded(folder / "projects.csv", lambda: _projects(folder / "projects.csv", write, resolver))
    codes = {p["code"]: p["id"] for p in _records.rows(store, "projects")}
    for name, table, cols in (("deliverables.csv", "deliverables", ["project", "title", "due", "status"]),
                              ("tasks.csv", "tasks", ["project", "title", "due", "status", "priority"])):
        if (folder / name).exists():
            guarded(folder / name, lambda n=name, t=table, c=cols: _plan_items(folder / n, t, c, write, codes))
    for path in sorted((folder / "timesheets").glob("*.csv")):
        guarded(path, lambda p=path: _timesheet(p, folder, write, codes))
    for path in sorted((folder / "notes").glob("*.md")):
        guarded(path, lambda p=path: _note(p, folder, write, resolver, codes))
    for path in sorted((folder / "templates").glob("*.md")):
        guarded(path, lambda p=path: _template(p, folder, write))
    for path in sorted((folder / "emails").glob("*.eml")):
        guarded(path, lambda p=path: _email(p, folder, write, resolver, codes))
    return report


def _reject(store: Store, report: IngestReport, folder: Path, path: Path, error: str, corr: str) -> None:
    rel = str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)
    report.rejected.append((rel, error))
    digest = file_hash(path) if path.exists() else None
    row = {"id": stable_id("rj", rel), "source_path": rel, "source_hash": digest, "error": error}
    _records.upsert(store, "ingest_rejections", row, actor=ACTOR, correlation_id=corr)


def _clear_rejection(store: Store, folder: Path, path: Path) -> None:
    rid = stable_id("rj", str(path.relative_to(folder)))
    if _records.get(store, "ingest_rejections", rid) is not None:
        _records.remove(store, "ingest_rejections", rid, actor=ACTOR, reason="the file now ingests cleanly")


def _clients(path: Path, write: Callable[[str, dict[str, Any]], None], report: IngestReport) -> None:
    rows = read_csv(path, ["name", "contact_name", "contact_email", "domain"])
    for n, r in enumerate(rows, start=2):
        if not r["name"]:
            raise IngestError(f"{path}, line {n}: a client needs a name", path=path)
    groups = group([client_keys(r["name"], r["contact_email"], r["domain"]) for r in rows])
    for members in groups:
        first = rows[members[0]]
        domain = next((rows[i]["domain"].lower() for i in members if rows[i]["domain"]), "")
        client_id = stable_id("cl", domain or normalise_name(first["name"]))
        aliases = _distinct([rows[i]["name"] for i in members[1:]], exclude=first["name"])
        if aliases:
            report.reconciled.append((first["name"], aliases))
        write("clients", {
            "id": client_id, "name": first["name"], "domain": domain, "city": first.get("city", ""),
            "since": first.get("since", ""), "notes": " ".join(_distinct([rows[i].get("notes", "") for i in members])),
            "aliases": aliases,
            # what invoices need (optional columns): the first spelling that gives a value
            **{col: next((rows[i].get(col, "") for i in members if rows[i].get(col)), "")
               for col in ("country", "vat_id", "vat_rate", "address", "postcode")},
        })
        contacts: dict[str, list[str]] = {}
        for i in members:
            email = rows[i]["contact_email"].lower()
            if email:
                contacts.setdefault(email, []).append(rows[i]["contact_name"])
        for email, names in contacts.items():
            write("contacts", {"id": stable_id("ct", email), "client_id": client_id, "name": names[0], "email": email,
                               "aliases": _distinct(names[1:], exclude=names[0])})


def _rates(path: Path, write: Callable[[str, dict[str, Any]], None]) -> None:
    for n, r in enumerate(read_csv(path, ["key", "hourly_rate", "currency"]), start=2):
        write("rates", {"id": stable_id("rt", r["key"]), "key": r["key"], "description": r.get("description", ""),
                        "hourly_rate": _number(r["hourly_rate"], path, n, "hourly_rate"), "currency": r["currency"]})


def _projects(path: Path, write: Callable[[str, dict[str, Any]], None], resolver: Resolver) -> None:
    for n, r in enumerate(read_csv(path, ["code", "name", "client", "status"]), start=2):
        client_id = resolver.client(r["client"])
        if r["client"] and client_id is None:
            raise IngestError(f"{path}, line {n}: client {r['client']!r} is not in clients.csv; add it there first", path=path)
        write("projects", {
            "id": stable_id("pr", r["code"]), "code": r["code"], "name": r["name"], "client_id": client_id,
            "status": r["status"], "start": r.get("start", ""), "end": r.get("end", ""),
            "budget_hours": _number(r["budget_hours"], path, n, "budget_hours") if r.get("budget_hours") else None,
            "rate_key": r.get("rate", ""), "description": r.get("description", ""),
        })


def _plan_items(path: Path, table: str, cols: list[str], write: Callable[[str, dict[str, Any]], None], codes: dict[str, str]) -> None:
    for n, r in enumerate(read_csv(path, cols), start=2):
        project_id = _project(codes, r["project"], path, n)
        row = {"id": stable_id(table[:2], r["project"], r["title"]), "project_id": project_id, "title": r["title"],
               "due": r["due"], "status": r["status"]}
        if table == "tasks":
            row["priority"] = r["priority"]
        write(table, row)


def _timesheet(path: Path, folder: Path, write: Callable[[str, dict[str, Any]], None], codes: dict[str, str]) -> None:
    rel = str(path.relative_to(folder))
    seen: dict[tuple[str, ...], int] = {}
    for n, r in enumerate(read_csv(path, ["date", "project", "hours", "description"]), start=2):
        key = (r["date"], r["project"], r["hours"], r["description"])
        seen[key] = seen.get(key, 0) + 1
        write("time_entries", {
            "id": stable_id("te", rel, *key, str(seen[key])), "project_id": _project(codes, r["project"], path, n),
            "date": r["date"], "hours": _number(r["hours"], path, n, "hours"), "description": r["description"], "source_path": rel,
        })


def _note(path: Path, folder: Path, write: Callable[[str, dict[str, Any]], None], resolver: Resolver, codes: dict[str, str]) -> None:
    note = read_note(path)
    rel = str(path.relative_to(folder))
    kind = note.front.get("kind") or "note"
    client_id = resolver.client(note.front.get("client", "")) if note.front.get("client") else None
    project_id = codes.get(note.front.get("project", "")) if note.front.get("project") else None
    meta = {k: v for k, v in note.front.items() if k not in {"title", "date", "kind", "client", "project"}}
    write("artifacts", {
        "id": stable_id("ar", rel), "kind": kind, "title": note.title, "date": note.front.get("date", ""),
        "client_id": client_id, "project_id": project_id, "source_path": rel, "source_hash": file_hash(path),
        "body": note.body, "meta": meta,
    })


def _template(path: Path, folder: Path, write: Callable[[str, dict[str, Any]], None]) -> None:
    rel = str(path.relative_to(folder))
    write("artifacts", {"id": stable_id("ar", rel), "kind": "template", "title": path.stem, "date": "", "client_id": None,
                        "project_id": None, "source_path": rel, "source_hash": file_hash(path),
                        "body": path.read_text(encoding="utf-8"), "meta": {}})


def _email(path: Path, folder: Path, write: Callable[[str, dict[str, Any]], None], resolver: Resolver, codes: dict[str, str]) -> None:
    msg: Email = read_email(path)
    rel = str(path.relative_to(folder))
    counterpart = msg.sender if not msg.sender.endswith(_own_domain(folder)) else (msg.to[0] if msg.to else "")
    client_id = resolver.client(msg.sender_name, counterpart)
    write("artifacts", {
        "id": stable_id("ar", msg.message_id), "kind": "email", "title": msg.subject or "(no subject)", "date": msg.date,
        "client_id": client_id, "project_id": _project_in_text(codes, f"{msg.subject} {msg.body}"),
        "source_path": rel, "source_hash": file_hash(path), "body": msg.body, "meta": msg.meta(),
    })


def _own_domain(folder: Path) -> str:
    import tomllib

    biz = folder / "business.toml"
    if biz.exists():
        email = tomllib.loads(biz.read_text(encoding="utf-8")).get("workspace", {}).get("email", "")
        if "@" in email:
            return "@" + email_domain(email)
    return "\x00"  # matches no address


def _project_in_text(codes: dict[str, str], text: str) -> str | None:
    return next((pid for code, pid in codes.items() if code in text), None)


def _project(codes: dict[str, str], code: str, path: Path, line: int) -> str:
    if code not in codes:
        raise IngestError(f"{path}, line {line}: project {code!r} is not in projects.csv; add it there first", path=path)
    return codes[code]


def _number(value: str, path: Path, line: int, column: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise IngestError(f"{path}, line {line}: {column} {value!r} is not a number (use a dot for decimals)", path=path) from exc


def _distinct(values: list[str], exclude: str = "") -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v != exclude and v not in out:
            out.append(v)
    return out
