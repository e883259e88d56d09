"""The durable store: one SQLite file per workspace, the single source of truth.

Writes go through :meth:`Store.atomic` (``BEGIN IMMEDIATE`` at the top level,
a SAVEPOINT when nested) so a writer takes the lock before reading what it is
about to change; with WAL and a busy timeout, several processes write the
same file without "database is locked" reaching the user.

State changes go through :meth:`Store.emit`: the event is appended and its
projector updates the current-state tables in the same transaction. Either
both are on disk or neither is, whatever kills the process.
"""

from __future__ import annotations

import contextlib
import hmac
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import StoreCorruptError, StoreError, StoreVersionError, ValidationError
from .._ids import iso, new_id
from . import _chain, _events, _invariants
from ._chain import ChainKey, KeyRing
from ._events import Event
from ._schema import Component, components, projector_for, reactions_for

APPLICATION_ID = 0x41494F53  # "AIOS": tells our files from other SQLite files
BUSY_TIMEOUT_S = 60.0


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT_KEYS"


DEFAULT_KEYS: Any = _Default()
"""``Store.open(key=...)`` default: the key ring the workspace layer registered (``_chain.use_keys``)."""


@dataclass(repr=False)
class VerifyReport:
    """What ``aios verify`` found."""

    path: Path
    integrity: str
    events: int
    chain_ok: bool
    bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    keyed_seq: int | None = None
    """The event from which the chain is keyed (None: not keyed)."""
    notes: list[str] = field(default_factory=list)
    """What was checked besides, said for the record (not problems)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.path}: {'OK' if self.ok else 'PROBLEMS'} ({self.events} events, integrity {self.integrity})"
        return "\n".join([head, *(f"  - {p}" for p in self.problems), *(f"  ({n})" for n in self.notes)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        colour = "var(--jp-success-color1, #1a7f37)" if self.ok else "var(--jp-error-color1, #cf222e)"
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems)
        return (f"<div class='aios-verify'><b style='color:{colour}'>{'OK' if self.ok else 'PROBLEMS'}</b> "
                f"{html.escape(str(self.path))}: {self.events} events, hash chain {'intact' if self.chain_ok else 'BROKEN'}, "
                f"integrity {html.escape(self.integrity)}" + (f"<ul>{items}</ul>" if items else "") + "</div>")


class Store:
    """A connection to one workspace's SQLite store.

    Open with :meth:`Store.open`; it checks the file, applies pending
    migrations and refuses stores written by a newer version.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._lock = threading.RLock()
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []
        self._key: ChainKey | None = None
        self._key_problem: str | None = None
        """Why events cannot be written (the log is keyed and its key is missing, or it was rewritten)."""
        self._keys: KeyRing | None = None

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, migrate: bool = True,
             key: ChainKey | KeyRing | None = DEFAULT_KEYS) -> Store:
        """Open (and if ``create``, create) the store at ``path``.

        ``key`` keys the event chain: by default the workspace key ring (the key
        named by the store's workspace id, created on first use); a
        :class:`ChainKey` to use that key; ``None`` for no key (an unkeyed log
        can then be written, a keyed one only read and verified in part).
        """
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a store file; point at the workspace's store.db", path=path)
        exists = path.exists() and path.stat().st_size > 0
        if not exists and not create:
            raise StoreError(f"no store at {path}; create the workspace with `aios init`", path=path)
        # No Python-level open() of the file: closing any descriptor of it drops
        # every POSIX lock this process holds, including those of another open
        # connection to the same store. SQLite itself says when a file is not a database.
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {path}: {exc}", path=path) from exc
        conn.row_factory = sqlite3.Row
        store = cls(path, conn)
        try:
            store._configure(new=not exists)
            if migrate:
                store.migrate()
                store._attach_key(_chain.default_keys() if key is DEFAULT_KEYS else key)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreCorruptError(_corrupt_message(path, str(exc)), path=path) from exc
        except BaseException:
            conn.close()
            raise
        return store

    def _configure(self, *, new: bool) -> None:
        c = self.conn
        app_id = c.execute("PRAGMA application_id").fetchone()[0]
        has_tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and has_tables and not _has_table(c, "events")):
            raise StoreCorruptError(
                f"{self.path} is a SQLite database but not an AIOS store; "
                "point the workspace at its own store.db, or move this file away and run `aios init`",
                path=self.path,
            )
        _retry_locked(lambda: c.execute("PRAGMA journal_mode=WAL"))
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA foreign_keys=ON")
        c.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        if new or app_id == 0:
            c.execute(f"PRAGMA application_id={APPLICATION_ID}")

    # -- the keyed chain -------------------------------------------------------------------

    @property
    def workspace_id(self) -> str | None:
        """The id that names this workspace's key outside the store (None before the store was migrated)."""
        return _info(self.conn, "workspace_id")

    def _keyed_seq(self) -> int | None:
        value = _info(self.conn, "chain_keyed_seq")
        return int(value) if value and value.isdigit() else None

    def _attach_key(self, key: ChainKey | KeyRing | None) -> None:
        """Find the chain's key; key the log from its next event if it is not keyed yet (see ``_chain``)."""
        wid = self.workspace_id
        if key is None or wid is None:
            return
        keyed_seq = self._keyed_seq()
        ring: KeyRing | None = None
        if isinstance(key, ChainKey):
            found: ChainKey | None = key
        else:
            ring = key
            if keyed_seq is None and ring.sealed(wid):
                self._key_problem = (f"the event log of workspace {wid} was keyed before but is not keyed now: it was "
                                     "rewritten; restore store.db from a snapshot")
                return
            found = ring.key(wid, create=keyed_seq is None, store_path=self.path)
            if found is None:
                self._key_problem = (f"the event log is keyed and the key of workspace {wid} is missing, so nothing can be "
                                     "written; restore the key file or set AIOS_KEY (see docs/ARCHITECTURE.md, the store)")
                return
        logged = _info(self.conn, "chain_key_id")
        if keyed_seq is not None and logged != found.key_id:
            self._key_problem = (f"the workspace key from {found.source} (key id {found.key_id}) is not the key this event "
                                 f"log was keyed with (key id {logged}), so nothing can be written; restore the right key "
                                 "file or AIOS_KEY")
            return
        self._key = found
        if keyed_seq is None:
            with self.atomic() as conn:
                if self._keyed_seq() is None:  # another process may have keyed it meanwhile
                    seq, head = _events.last(conn)
                    conn.executemany("INSERT OR REPLACE INTO store_info VALUES (?, ?)", [
                        ("chain_keyed_seq", str(seq + 1)), ("chain_key_id", found.key_id),
                        ("chain_keyed_mac", found.record_mac(wid, seq + 1, head))])
        if ring is not None and not ring.sealed(wid):
            ring.seal(wid)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------

    @contextlib.contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls become savepoints.

        Anything raised inside rolls the whole block back and propagates.
        """
        with self._lock:
            if self._depth == 0:
                self._begin()
                try:
                    yield self.conn
                except BaseException:
                    self._rollback()
                    raise
                self._commit()
            else:
                name = f"sp{self._depth}"
                self.conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield self.conn
                except BaseException:
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                    self._depth -= 1
                    raise
                self.conn.execute(f"RELEASE {name}")
                self._depth -= 1

    def _begin(self) -> None:
        """Open the outermost write transaction (the caller holds ``_lock``)."""
        _retry_locked(_begin, self.conn)
        self._depth = 1

    def _rollback(self) -> None:
        self._depth = 0
        self._after_commit.clear()
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")

    def _commit(self) -> None:
        """Commit the outermost transaction, then run the after-commit hooks."""
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self._depth = 0
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once the current transaction commits (dropped on rollback)."""
        if not self.in_transaction:
            hook()
        else:
            self._after_commit.append(hook)

    # -- events ------------------------------------------------------------------------

    def emit(self, type: str, entity: str, payload: dict[str, Any] | None = None, *, actor: str = "system",
             correlation_id: str | None = None, cause_id: str | None = None, at: str | None = None) -> Event:
        """Record one event and apply its projector, atomically.

        ``entity`` is ``"kind:id"``; ``actor`` says who (``operator``,
        ``agent:triage@1``, ``system``); ``cause_id`` is the event that led to
        this one; ``correlation_id`` groups the events of one run or ingest.
        """
        projector = projector_for(type)
        if projector is None:
            raise ValidationError(f"unknown event type {type!r}: register a projector for it in its component's _schema module", field="type")
        if not entity or ":" not in entity:
            raise ValidationError(f"entity must look like 'kind:id', got {entity!r}", field="entity")
        ev_id, at, payload = new_id("ev"), at or iso(), payload or {}
        reactions = reactions_for(type)
        key = self._key
        if key is None and self._key_problem:
            raise StoreError(self._key_problem, path=self.path)

        def write(conn: sqlite3.Connection) -> Event:
            if key is None and self._keyed_seq() is not None:
                raise StoreError(f"{self.path}: the event log is keyed; open the store with its workspace key "
                                 "(Workbench.open and Store.open do by default) to write to it", path=self.path)
            event = _events.insert(conn, id=ev_id, at=at, type=type, entity=entity, payload=payload, actor=actor,
                                   correlation_id=correlation_id, cause_id=cause_id, key=key)
            try:
                projector(conn, event)
            except sqlite3.IntegrityError as exc:  # a missing required value, a duplicate key: the caller's data
                raise ValidationError(f"{type} for {entity} breaks a rule of the store ({exc}); nothing was written",
                                      field="payload") from exc
            for react in reactions:
                react(self, event)
            return event

        with self._lock:
            if self._depth:
                with self.atomic() as conn:  # a savepoint: a failing projector undoes its own event only
                    return write(conn)
            # The common case (an event in its own transaction, once per step of a run) without the
            # generator-based context manager: the same transaction steps as atomic().
            self._begin()
            try:
                event = write(self.conn)
            except BaseException:
                self._rollback()
                raise
            self._commit()
        return event

    def events(self, *, type: str | None = None, entity: str | None = None, since_seq: int = 0,
               correlation_id: str | None = None, types: tuple[str, ...] = ()) -> list[Event]:
        """Events in order, optionally filtered (``types``: any of these)."""
        clauses, params = ["seq > ?"], [since_seq]
        for col, val in (("type", type), ("entity", entity), ("correlation_id", correlation_id)):
            if val is not None:
                clauses.append(f"{col} = ?")
                params.append(val)
        if types:
            clauses.append(f"type IN ({','.join('?' * len(types))})")
            params.extend(types)
        return list(_events.iter_events(self.conn, " AND ".join(clauses), tuple(params)))

    def last_seq(self) -> int:
        return _events.last(self.conn)[0]

    # -- queries -----------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def reader(self) -> StoreReader:
        """A read-only view of this store (queries and events, no writes) to hand to code that must not write."""
        return StoreReader(self)

    # -- schema ------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply every registered component's pending migrations; return what ran."""
        ran: list[str] = []
        with self.atomic() as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL, updated_at TEXT NOT NULL)"
            )
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,"
                " name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (component, version))"
            )
        known = components()
        recorded = {r["component"]: r["version"] for r in self.query("SELECT component, version FROM schema_versions")}
        for name, version in recorded.items():
            if name in known and version > known[name].version:
                raise StoreVersionError(
                    f"{self.path} was written by a newer version of AIOS Workbench ({name} schema {version}, "
                    f"this version knows up to {known[name].version}); upgrade aios-workbench to open it. Nothing was changed.",
                    path=self.path, component=name, found=version, known=known[name].version,
                )
        for comp in known.values():
            current = recorded.get(comp.name, 0)
            for mig in comp.migrations:
                if mig.version <= current:
                    continue
                with self.atomic() as c:
                    if isinstance(mig.apply, str):
                        for statement in _split_sql(mig.apply):
                            c.execute(statement)
                    else:
                        mig.apply(c)
                    now = iso()
                    c.execute("INSERT INTO schema_migrations VALUES (?,?,?,?)", (comp.name, mig.version, mig.name, now))
                    c.execute(
                        "INSERT INTO schema_versions VALUES (?,?,?) ON CONFLICT(component) DO UPDATE SET version=excluded.version, updated_at=excluded.updated_at",
                        (comp.name, mig.version, now),
                    )
                ran.append(f"{comp.name}:{mig.version:04d}_{mig.name}")
        return ran

    def schema_versions(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.query("SELECT component, version FROM schema_versions ORDER BY component")}

    def rebuild(self, component: Component) -> int:
        """Clear ``component``'s projection tables and replay its events into them."""
        with self.atomic() as c:
            for table in reversed(component.tables):
                c.execute(f"DELETE FROM {table}")
            types = tuple(component.projectors)
            if not types:
                return 0
            marks = ",".join("?" * len(types))
            n = 0
            for event in _events.iter_events(c, f"type IN ({marks})", types):
                component.projectors[event.type](c, event)
                n += 1
        return n

    # -- maintenance -------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Integrity check, foreign keys, the event chain (keyed part under the workspace key), and the
        projections' invariants (every stored time parses and is in range, every JSON column decodes)."""
        problems: list[str] = []
        notes: list[str] = []
        try:
            integrity = "; ".join(r[0] for r in self.query("PRAGMA integrity_check"))
        except sqlite3.DatabaseError as exc:
            integrity = f"failed: {exc}"
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        fk = self.query("PRAGMA foreign_key_check")
        if fk:
            problems.append(f"{len(fk)} rows reference missing rows (first in table {fk[0][0]})")
        keyed_seq = self._keyed_seq()
        check = _chain.verify(self.conn, self._key, keyed_seq)
        if check.bad_seq is not None:
            problems.append(f"hash chain broken: {check.why}; restore from a snapshot (`aios snapshot` makes them)")
        wid = self.workspace_id
        if wid is None and self.schema_versions().get("core", 0) >= 3:
            problems.append("store_info holds no workspace id: it was edited; restore from a snapshot")
        if keyed_seq is not None:
            if self._key is None:
                problems.append(f"events from {keyed_seq} on are keyed and were not checked: "
                                f"{self._key_problem or 'no key was given (Store.open(key=None))'}")
            elif check.bad_seq is None:
                expected = self._key.record_mac(wid or "", keyed_seq, check.head_before_keyed or "")
                if not hmac.compare_digest(expected, _info(self.conn, "chain_keyed_mac") or ""):
                    problems.append("the record of where the keyed chain starts (store_info) does not verify with this "
                                    "key: it was edited; restore from a snapshot")
            if keyed_seq > 1:
                notes.append(f"events 1-{keyed_seq - 1} were written before the chain was keyed, and sealed as they "
                             "were then")
        elif self._key_problem:
            problems.append(self._key_problem)
        elif check.checked:
            notes.append("the event log is not keyed: its chain shows accidents, not edits; open the store with its "
                         "workspace key to key it")
        problems.extend(_invariants.check(self.conn, components()))
        return VerifyReport(self.path, integrity, self.last_seq(), check.bad_seq is None, check.bad_seq, problems,
                            keyed_seq, notes)

    def snapshot(self, dest: str | Path) -> Path:
        """A consistent copy through SQLite's backup API (never overwrites)."""
        dest = Path(dest)
        if dest.exists():
            raise StoreError(f"{dest} exists; choose a new snapshot path (snapshots never overwrite)", path=dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(dest.suffix + ".partial")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(tmp)
        try:
            with self._lock:
                self.conn.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
        tmp.rename(dest)
        return dest


class StoreReader:
    """Reads of a :class:`Store` and nothing else (what agents get: their writes are their results)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def path(self) -> Path:
        return self._store.path

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return self._store.query(_reading(sql), params)

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        return self._store.one(_reading(sql), params)

    def scalar(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Any:
        return self._store.scalar(_reading(sql), params)

    def events(self, **filters: Any) -> list[Event]:
        return self._store.events(**filters)


def _reading(sql: str) -> str:
    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        raise ValidationError("this store is read-only here: only SELECT (or WITH ... SELECT) statements", field="sql")
    return sql


def _info(conn: sqlite3.Connection, name: str) -> str | None:
    """A value of ``store_info`` (None when absent, or before the table exists)."""
    try:
        row = conn.execute("SELECT value FROM store_info WHERE name=?", (name,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])


def read_workspace_id(path: str | Path) -> str | None:
    """The workspace id kept in the store at ``path``, read without opening the store for writing (None: none yet)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error:
        return None
    try:
        return _info(conn, "workspace_id")
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def _corrupt_message(path: Path, why: str) -> str:
    return (
        f"{path} is not a usable SQLite store: {why}. It was left untouched. "
        "Restore it from a snapshot (`aios snapshot` writes them), or move it away and run `aios init` to start a new one."
    )


def _begin(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")


def _retry_locked(fn: Callable[..., Any], *args: Any, attempts: int = 5) -> Any:
    """Retry past the busy timeout a few times before giving up with a clear error."""
    for attempt in range(attempts):
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == attempts - 1:
                raise StoreError(
                    f"the store stayed locked for {BUSY_TIMEOUT_S * attempts:.0f}s: another process holds a long write; "
                    "wait for it to finish (see `aios status`) and try again"
                ) from exc
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
