"""Loading a business folder (the layout of ``data/``) into the store.

Ingest is idempotent: records get stable ids from their natural keys, an
unchanged record writes no event, and duplicate spellings of one client or
contact are reconciled into one record with aliases. A file that cannot be
read is recorded as a rejection (with the reason and the fix) and skipped;
everything else is still ingested: whatever goes wrong with one file (a
limit, a parse error, any exception) is that file's rejection, never the
ingest's failure. ``business.toml`` is read once, in its own guard: when it is
unusable it is rejected and e-mails are read without knowing the own domain.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import AiosError, IngestError, StoreError, WorkspaceError
from .._ids import new_id, stable_id
from .._limits import LIMITS, Limits
from .._store import Store
from .._values import printable
from . import _records
from ._reconcile import client_keys, email_domain, group, normalise_name
from ._mail import judge_sender
from ._sources import Email, check_date, file_hash, parse_email, read_csv, read_email, read_note, read_text, read_toml

if TYPE_CHECKING:
    from .._workspace import Blobs

REASON_CHARS = 2000
"""Longest reason recorded for one rejected file."""

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


def ingest_folder(store: Store, folder: str | Path, *, on_artifact: Callable[[dict[str, Any]], None] | None = None,
                  limits: Limits = LIMITS, blobs: Blobs | None = None) -> IngestReport:
    """Ingest every known file of ``folder``; see the module docstring. E-mail attachments go to ``blobs``."""
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
        # One file, one transaction: a file that fails halfway writes nothing, whatever it raised.
        try:
            with store.atomic():
                fn()
                _clear_rejection(store, folder, path)
        except (StoreError, sqlite3.Error):
            raise  # the store cannot be written (locked, full, key missing): not this file's fault
        except Exception as exc:  # noqa: BLE001  (any other failure of one file is its rejection; the rest goes on)
            _reject(store, report, folder, path, _reason(exc, folder, path), corr)

    def present(path: Path) -> bool:
        return path.exists() or path.is_symlink()  # a dangling link is a file to reject, not a file to ignore

    own = ["\x00"]  # matches no address until business.toml says otherwise
    biz = folder / "business.toml"

    def read_own_domain() -> None:
        own[0] = _own_domain(biz, limits)

    if present(biz):
        guarded(biz, read_own_domain)
    if present(folder / "clients.csv"):
        guarded(folder / "clients.csv", lambda: _clients(folder / "clients.csv", write, report, limits))
    if present(folder / "rate_card.csv"):
        guarded(folder / "rate_card.csv", lambda: _rates(folder / "rate_card.csv", write, limits))
    resolver = Resolver(store)
    if present(folder / "projects.csv"):
        guarded(folder / "projects.csv", lambda: _projects(folder / "projects.csv", write, resolver, limits))
    codes = {p["code"]: p["id"] for p in _records.rows(store, "projects")}
    for name, table, cols in (("deliverables.csv", "deliverables", ["project", "title", "due", "status"]),
                              ("tasks.csv", "tasks", ["project", "title", "due", "status", "priority"])):
        if present(folder / name):
            guarded(folder / name, lambda n=name, t=table, c=cols: _plan_items(folder / n, t, c, write, codes, limits))
    for path in sorted((folder / "timesheets").glob("*.csv")):
        guarded(path, lambda p=path: _timesheet(p, folder, write, codes, limits))
    for path in sorted((folder / "notes").glob("*.md")):
        guarded(path, lambda p=path: _note(p, folder, write, resolver, codes, limits))
    for path in sorted((folder / "templates").glob("*.md")):
        guarded(path, lambda p=path: _template(p, folder, write, limits))
    for path in sorted((folder / "emails").glob("*.eml")):
        guarded(path, lambda p=path: _email(p, folder, write, resolver, codes, own[0], limits, blobs))
    return report


def _rel(folder: Path, path: Path) -> str:
    """The path as recorded: relative to the folder, and printable whatever bytes its name holds."""
    return printable(str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path))


def _reason(exc: Exception, folder: Path, path: Path) -> str:
    """What went wrong with one file, and what to do, in at most REASON_CHARS characters."""
    if isinstance(exc, IngestError):
        text = str(exc)
    elif isinstance(exc, AiosError):
        text = f"{_rel(folder, path)}: {exc}; fix the file and run `aios ingest` again"
    else:
        text = (f"{_rel(folder, path)} could not be read ({type(exc).__name__}: {exc}); it was not ingested and nothing "
                "else was affected. Fix or re-export the file and run `aios ingest` again")
    text = printable(text)
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 3] + "..."


def _reject(store: Store, report: IngestReport, folder: Path, path: Path, error: str, corr: str) -> None:
    rel = _rel(folder, path)
    report.rejected.append((rel, error))
    row = {"id": stable_id("rj", rel), "source_path": rel, "source_hash": file_hash(path), "error": error}
    _records.upsert(store, "ingest_rejections", row, actor=ACTOR, correlation_id=corr)


def _clear_rejection(store: Store, folder: Path, path: Path) -> None:
    rid = stable_id("rj", _rel(folder, path))
    if _records.get(store, "ingest_rejections", rid) is not None:
        _records.remove(store, "ingest_rejections", rid, actor=ACTOR, reason="the file now ingests cleanly")


def _clients(path: Path, write: Callable[[str, dict[str, Any]], None], report: IngestReport, limits: Limits) -> None:
    rows = read_csv(path, ["name", "contact_name", "contact_email", "domain"], limits)
    for n, r in enumerate(rows, start=2):
        if not r["name"]:
            raise IngestError(f"{path}, line {n}: a client needs a name", path=path)
        if r.get("since"):
            check_date(r["since"], "since", path, n)
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


def _rates(path: Path, write: Callable[[str, dict[str, Any]], None], limits: Limits) -> None:
    for n, r in enumerate(read_csv(path, ["key", "hourly_rate", "currency"], limits), start=2):
        write("rates", {"id": stable_id("rt", r["key"]), "key": r["key"], "description": r.get("description", ""),
                        "hourly_rate": _number(r["hourly_rate"], path, n, "hourly_rate"), "currency": r["currency"]})


def _projects(path: Path, write: Callable[[str, dict[str, Any]], None], resolver: Resolver, limits: Limits) -> None:
    for n, r in enumerate(read_csv(path, ["code", "name", "client", "status"], limits), start=2):
        client_id = resolver.client(r["client"])
        if r["client"] and client_id is None:
            raise IngestError(f"{path}, line {n}: client {r['client']!r} is not in clients.csv; add it there first", path=path)
        for column in ("start", "end"):
            if r.get(column):
                check_date(r[column], column, path, n)
        write("projects", {
            "id": stable_id("pr", r["code"]), "code": r["code"], "name": r["name"], "client_id": client_id,
            "status": r["status"], "start": r.get("start", ""), "end": r.get("end", ""),
            "budget_hours": _number(r["budget_hours"], path, n, "budget_hours") if r.get("budget_hours") else None,
            "rate_key": r.get("rate", ""), "description": r.get("description", ""),
        })


def _plan_items(path: Path, table: str, cols: list[str], write: Callable[[str, dict[str, Any]], None], codes: dict[str, str],
                limits: Limits) -> None:
    for n, r in enumerate(read_csv(path, cols, limits), start=2):
        project_id = _project(codes, r["project"], path, n)
        if r["due"]:
            check_date(r["due"], "due", path, n)
        row = {"id": stable_id(table[:2], r["project"], r["title"]), "project_id": project_id, "title": r["title"],
               "due": r["due"], "status": r["status"]}
        if table == "tasks":
            row["priority"] = r["priority"]
        write(table, row)


def _timesheet(path: Path, folder: Path, write: Callable[[str, dict[str, Any]], None], codes: dict[str, str],
               limits: Limits) -> None:
    rel = _rel(folder, path)
    seen: dict[tuple[str, ...], int] = {}
    for n, r in enumerate(read_csv(path, ["date", "project", "hours", "description"], limits), start=2):
        check_date(r["date"], "date", path, n)
        key = (r["date"], r["project"], r["hours"], r["description"])
        seen[key] = seen.get(key, 0) + 1
        write("time_entries", {
            "id": stable_id("te", rel, *key, str(seen[key])), "project_id": _project(codes, r["project"], path, n),
            "date": r["date"], "hours": _number(r["hours"], path, n, "hours"), "description": r["description"], "source_path": rel,
        })


def _note(path: Path, folder: Path, write: Callable[[str, dict[str, Any]], None], resolver: Resolver, codes: dict[str, str],
          limits: Limits) -> None:
    note = read_note(path, limits)
    rel = _rel(folder, path)
    kind = note.front.get("kind") or "note"
    client_id = resolver.client(note.front.get("client", "")) if note.front.get("client") else None
    project_id = codes.get(note.front.get("project", "")) if note.front.get("project") else None
    meta = {k: v for k, v in note.front.items() if k not in {"title", "date", "kind", "client", "project"}}
    write("artifacts", {
        "id": stable_id("ar", rel), "kind": kind, "title": note.title, "date": note.front.get("date", ""),
        "client_id": client_id, "project_id": project_id, "source_path": rel, "source_hash": file_hash(path),
        "body": note.body, "meta": meta,
    })


def _template(path: Path, folder: Path, write: Callable[[str, dict[str, Any]], None], limits: Limits) -> None:
    rel = _rel(folder, path)
    body = read_text(path, limits)
    if len(body) > limits.max_body_chars:
        raise IngestError(f"{rel} has {len(body):,} characters, more than the limit of {limits.max_body_chars:,}", path=path)
    write("artifacts", {"id": stable_id("ar", rel), "kind": "template", "title": printable(path.stem), "date": "",
                        "client_id": None, "project_id": None, "source_path": rel, "source_hash": file_hash(path),
                        "body": body, "meta": {}})


def _email(path: Path, folder: Path, write: Callable[[str, dict[str, Any]], None], resolver: Resolver, codes: dict[str, str],
           own_domain: str, limits: Limits, blobs: Blobs | None) -> None:
    _write_email(read_email(path, limits), _rel(folder, path), file_hash(path), write, resolver, codes, own_domain, blobs)


def _write_email(msg: Email, source: str, source_hash: str, write: Callable[[str, dict[str, Any]], None],
                 resolver: Resolver, codes: dict[str, str], own_domain: str, blobs: Blobs | None) -> str:
    """The artifact of one parsed message, whichever way it arrived (a business folder's file, a mail sync).

    Attachments go to ``blobs`` first: a record never names a file that is not there.
    """
    if blobs is not None:
        for data in msg.contents.values():
            blobs.put(data)
    own = msg.sender.endswith(own_domain)
    counterpart = msg.sender if not own else (msg.to[0] if msg.to else "")
    client_id = resolver.client(msg.sender_name, counterpart)
    if msg.mail is not None:  # fraud weighs more from an address no contact or client domain vouches for
        judge_sender(msg.mail, sender=msg.sender, subject=msg.subject,
                     known_sender=own or resolver.client("", msg.sender) is not None)
    artifact_id = stable_id("ar", msg.message_id)
    write("artifacts", {
        "id": artifact_id, "kind": "email", "title": msg.subject or "(no subject)", "date": msg.date,
        "client_id": client_id, "project_id": _project_in_text(codes, f"{msg.subject} {msg.body}"),
        "source_path": source, "source_hash": source_hash, "body": msg.body, "meta": msg.meta(),
    })
    return artifact_id


@dataclass
class MessageIngest:
    """What one batch of synced messages became: artifacts written, unchanged, and messages refused (with why)."""

    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


def ingest_messages(store: Store, messages: list[tuple[str, bytes]], *, own_email: str = "",
                    limits: Limits = LIMITS, blobs: Blobs | None = None) -> MessageIngest:
    """Ingest fetched messages (``(source, bytes)``: a Maildir file, an IMAP UID) as e-mail artifacts.

    The same parser and the same artifact as a business folder's ``emails/*.eml``. Each message is its own
    transaction: a malformed one is recorded as a rejection (``source`` and the reason) and the rest go on.
    A message already ingested (same Message-ID, same content) writes nothing. ``own_email``: the
    operator's address, so that a message they sent is filed under its recipient's client.
    """
    own_domain = "@" + email_domain(own_email) if "@" in own_email else "\x00"
    out = MessageIngest()
    corr = new_id("sync")
    resolver = Resolver(store)
    codes = {p["code"]: p["id"] for p in _records.rows(store, "projects")}
    for source, raw in messages:
        name = printable(source.rsplit("/", 1)[-1])[:120]
        written: list[str] = []

        def write(table: str, row: dict[str, Any], _w: list[str] = written) -> None:
            if _records.upsert(store, table, row, actor=ACTOR, correlation_id=corr) is not None:
                _w.append(row["id"])

        try:
            with store.atomic():
                msg = parse_email(raw, name, Path(name), limits)
                _write_email(msg, printable(source), hashlib.sha256(raw).hexdigest(), write, resolver, codes, own_domain, blobs)
            if written:
                out.written.extend(written)
            else:
                out.unchanged += 1
        except (StoreError, sqlite3.Error):
            raise
        except Exception as exc:  # noqa: BLE001  (one bad message is its rejection; the rest goes on)
            reason = f"{exc}" if isinstance(exc, AiosError) else f"{type(exc).__name__}: {exc}"
            row = {"id": stable_id("rj", source), "source_path": printable(source)[:500],
                   "source_hash": hashlib.sha256(raw).hexdigest(), "error": printable(reason)[:1000]}
            with store.atomic():
                _records.upsert(store, "ingest_rejections", row, actor=ACTOR, correlation_id=corr)
            out.rejected.append((row["source_path"], row["error"][:300]))
    return out


def business_file(path: Path, limits: Limits = LIMITS) -> dict[str, Any]:
    """A business folder's ``business.toml``, read under the limits (IngestError when the file is unusable)."""
    data = read_toml(path, limits)
    for table in ("workspace", "invoicing"):
        if not isinstance(data.get(table, {}), dict):
            raise IngestError(f"{printable(str(path))}: [{table}] must be a table of settings", path=path)
    return data


def business_settings(path: Path, limits: Limits = LIMITS) -> dict[str, Any]:
    """The ``[workspace]`` table of a business folder's ``business.toml`` (IngestError when the file is unusable)."""
    return business_file(path, limits).get("workspace", {})


def _own_domain(path: Path, limits: Limits) -> str:
    email = business_settings(path, limits).get("email", "")
    if isinstance(email, str) and "@" in email:
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
        number = float(value)
    except ValueError as exc:
        raise IngestError(f"{path}, line {line}: {column} {value[:40]!r} is not a number (use a dot for decimals)",
                          path=path) from exc
    if not math.isfinite(number) or number < 0:
        raise IngestError(f"{path}, line {line}: {column} {value[:40]!r} must be a finite number, not negative", path=path)
    return number


def _distinct(values: list[str], exclude: str = "") -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v != exclude and v not in out:
            out.append(v)
    return out
