"""Inbound mail: new messages from a local Maildir or an IMAP folder, incrementally and never twice at once.

A sync reads only what is new since the last one and records how far it got
after every batch, so a sync cut short (a crash, a dropped connection) goes
on where it stopped:

- **IMAP**: one connection per sync, the folder selected read-only, new
  messages found by UID (``UID SEARCH UID n:*``), their sizes asked first, and
  fetched in batches with ``BODY.PEEK[]`` (nothing is marked read). The folder's UIDVALIDITY is kept
  with the last UID; when the server changes it, the folder is read again from
  the start (ingest writes nothing for a message it already has).
- **Maildir**: every message in ``new`` and ``cur`` whose key was not seen
  before; the folder is left as it is.

A batch is at most ``BATCH`` messages and ``BATCH_BYTES`` of them, so what a
sync holds does not grow with the mailbox or its largest messages; a message
over ``MAX_BYTES`` is listed in the report and never read.

A lease in the store (``mail_sync_lock``) lets one sync of a mailbox run at a
time, whichever process starts it: a second one is told a sync is running
instead of opening a second connection.
"""

from __future__ import annotations

import imaplib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import ConnectorError, StateError
from .._ids import iso
from .._limits import LIMITS

BATCH = 100
"""Messages fetched (and handed over) at a time, at most."""
BATCH_BYTES = 32 * 1024 * 1024
"""Raw bytes fetched (and handed over) at a time, at most: with ``BATCH`` it bounds what one sync holds in
memory (100 messages near the size limit would be gigabytes). A single message larger than this is a batch
of its own."""
MAX_BYTES = LIMITS.max_message_bytes
"""A message larger than this is not fetched; it is reported (size limits of untrusted input). The same limit
as the parser's for one e-mail, so a message the sync fetches is one ingest can read."""


@dataclass(frozen=True)
class Message:
    """One fetched message: where it came from (a stable id in its mailbox) and its bytes."""

    mailbox: str
    uid: str
    source: str
    raw: bytes


@dataclass
class Skipped:
    uid: str
    source: str
    reason: str


@dataclass
class SyncReport:
    """What one mail sync did."""

    mailbox: str
    fetched: int = 0
    written: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, got: Any, fetched: int) -> None:
        self.fetched += fetched
        self.written += len(getattr(got, "written", []) or [])
        self.unchanged += int(getattr(got, "unchanged", 0) or 0)
        self.rejected.extend(getattr(got, "rejected", []) or [])

    def to_json(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "fetched": self.fetched, "written": self.written, "unchanged": self.unchanged,
                "rejected": [list(r) for r in self.rejected[:20]], "skipped": [s.reason for s in self.skipped[:20]],
                "seconds": round(self.seconds, 3)}

    def __str__(self) -> str:
        lines = [f"{self.mailbox}: {self.fetched} new message(s) in {self.seconds:.2f}s, {self.written} recorded, "
                 f"{self.unchanged} already known, {len(self.rejected)} refused, {len(self.skipped)} too large"]
        lines += [f"  refused {src}: {why}" for src, why in self.rejected[:10]]
        lines += [f"  not fetched {s.source}: {s.reason}" for s in self.skipped[:10]]
        return "\n".join(lines)


class Lease:
    """``mail_sync_lock``: one sync per mailbox at a time across every process on the workspace."""

    def __init__(self, store: Any, mailbox: str, owner: str, seconds: float = 600.0) -> None:
        self.store, self.mailbox, self.owner, self.seconds = store, mailbox, owner, seconds

    def __enter__(self) -> Lease:
        with self.store.atomic() as conn:
            row = conn.execute("SELECT owner, until FROM mail_sync_lock WHERE mailbox=?", (self.mailbox,)).fetchone()
            if row is not None and row[0] != self.owner and row[1] > time.time():
                raise StateError(f"a sync of {self.mailbox} is already running ({row[0]}); it ends by itself, "
                                 "or its lease lapses after 10 minutes", id=self.mailbox, state="syncing")
            conn.execute("INSERT OR REPLACE INTO mail_sync_lock(mailbox, owner, until) VALUES (?,?,?)",
                         (self.mailbox, self.owner, time.time() + self.seconds))
        return self

    def renew(self) -> None:
        with self.store.atomic() as conn:
            conn.execute("UPDATE mail_sync_lock SET until=? WHERE mailbox=? AND owner=?",
                         (time.time() + self.seconds, self.mailbox, self.owner))

    def __exit__(self, *exc: object) -> None:
        with self.store.atomic() as conn:
            conn.execute("DELETE FROM mail_sync_lock WHERE mailbox=? AND owner=?", (self.mailbox, self.owner))


class SyncState:
    """How far each mailbox was read: IMAP's UIDVALIDITY and last UID, or the Maildir keys seen."""

    def __init__(self, store: Any, mailbox: str) -> None:
        self.store, self.mailbox = store, mailbox

    def imap(self) -> tuple[int | None, int]:
        row = self.store.one("SELECT uidvalidity, last_uid FROM mail_sync WHERE mailbox=?", (self.mailbox,))
        return (None, 0) if row is None else (row[0], int(row[1] or 0))

    def advance_imap(self, uidvalidity: int, last_uid: int) -> None:
        with self.store.atomic() as conn:
            conn.execute("INSERT INTO mail_sync(mailbox, uidvalidity, last_uid, synced_at) VALUES (?,?,?,?) ON CONFLICT(mailbox)"
                         " DO UPDATE SET uidvalidity=excluded.uidvalidity, last_uid=excluded.last_uid, synced_at=excluded.synced_at",
                         (self.mailbox, uidvalidity, last_uid, iso()))

    def seen(self) -> set[str]:
        return {r[0] for r in self.store.query("SELECT key FROM mail_seen WHERE mailbox=?", (self.mailbox,))}

    def mark_seen(self, keys: list[str]) -> None:
        with self.store.atomic() as conn:
            conn.executemany("INSERT OR IGNORE INTO mail_seen(mailbox, key) VALUES (?,?)", [(self.mailbox, k) for k in keys])
            conn.execute("INSERT INTO mail_sync(mailbox, uidvalidity, last_uid, synced_at) VALUES (?, NULL, 0, ?)"
                         " ON CONFLICT(mailbox) DO UPDATE SET synced_at=excluded.synced_at", (self.mailbox, iso()))


def maildir_batches(folder: Path, state: SyncState, skipped: list[Skipped], *, batch: int = BATCH,
                    max_bytes: int | None = None) -> Iterator[list[Message]]:
    """New messages of a Maildir, oldest first, ``batch`` at a time and at most ``max_bytes`` (default
    ``BATCH_BYTES``) of them; the caller marks each batch seen.

    Only ``new`` and ``cur`` are read: a file in ``tmp`` is a message still being delivered.
    """
    budget = BATCH_BYTES if max_bytes is None else max_bytes
    seen = state.seen()
    entries = []
    for sub in ("new", "cur"):
        d = folder / sub
        if d.is_dir():
            for entry in os.scandir(d):
                key = entry.name.split(":", 1)[0]
                if key not in seen and entry.is_file():
                    entries.append((entry.stat().st_mtime, key, entry.path))
    entries.sort()
    out: list[Message] = []
    held = 0
    for _, key, path in entries:
        try:
            raw = _read_at_most(path, MAX_BYTES)
        except FileNotFoundError:
            continue  # moved by a mail client meanwhile: the next sync finds it under its new name
        if raw is None:
            size = _size(path)
            skipped.append(Skipped(key, path, f"{size} bytes: larger than {MAX_BYTES} (not fetched)"))
            state.mark_seen([key])
            continue
        if out and held + len(raw) > budget:
            yield out
            out, held = [], 0
        out.append(Message(str(folder), key, f"maildir:{path}", raw))
        held += len(raw)
        if len(out) >= batch:
            yield out
            out, held = [], 0
    if out:
        yield out


def _read_at_most(path: str, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit``: never more than ``limit + 1`` bytes are read,
    even when the file grows between the look at its size and the read."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size > limit:
            return None
        raw = f.read(limit + 1)
    return None if len(raw) > limit else raw


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


class ImapInbox:
    """The IMAP folder mail sync reads, over one connection per sync."""

    def __init__(self, host: str, port: int, security: str, username: str, password: Any, folder: str = "INBOX",
                 timeout_s: float = 30.0, connector: str = "email") -> None:
        from ._mailboxes import ImapFolder

        self._login = ImapFolder(host, port, security, username, password, folder, timeout_s, connector)
        self.host, self.folder, self.connector = host, folder, connector

    @property
    def mailbox(self) -> str:
        return f"imap://{self._login.username}@{self.host}:{self._login.port}/{self.folder}"

    def batches(self, state: SyncState, skipped: list[Skipped], *, batch: int = BATCH,
                max_bytes: int | None = None) -> Iterator[list[Message]]:
        """New messages by UID, ``batch`` at a time and at most ``max_bytes`` (default ``BATCH_BYTES``) of them;
        each batch's last UID is recorded (``state.advance_imap``) once the caller asks for the next one.

        The sizes (``RFC822.SIZE``) are asked first: a message over ``MAX_BYTES`` is never fetched, and each
        ``FETCH`` of bodies asks for no more than the byte budget (the client holds a whole answer at once).
        """
        from ._mailboxes import _quote

        budget = BATCH_BYTES if max_bytes is None else max_bytes

        conn = self._login._connect()
        try:
            typ, data = conn.select(_quote(self.folder), readonly=True)
            if typ != "OK":
                raise ConnectorError(f"the IMAP server has no folder {self.folder!r} ({data!r}); check inbox_folder",
                                     connector=self.connector)
            validity = int(conn.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
            known, last = state.imap()
            if known is not None and known != validity:
                last = 0  # the server renumbered the folder: read it again (ingest skips what it already has)
            typ, data = conn.uid("SEARCH", "UID", f"{last + 1}:*")
            uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > last) if typ == "OK" else []
            for start in range(0, len(uids), batch):
                chunk = uids[start:start + batch]
                typ, sizes = conn.uid("FETCH", ",".join(map(str, chunk)), "(RFC822.SIZE)")
                small, big = _split_by_size(sizes, chunk)
                for uid, size in big:
                    skipped.append(Skipped(str(uid), self._source(validity, uid), f"{size} bytes: larger than {MAX_BYTES}"))
                parts = _by_bytes(small, budget) or [[]]
                for n, part in enumerate(parts):
                    out = []
                    if part:
                        typ, data = conn.uid("FETCH", ",".join(str(u) for u, _ in part), "(UID BODY.PEEK[])")
                        for uid, raw in _bodies(data):
                            out.append(Message(self.mailbox, f"{validity}:{uid}", self._source(validity, uid), raw))
                        del data  # the answer and ``out`` share the bytes; only ``out`` is handed over
                    yield out
                    # the last part also passes the chunk's too-large messages above its last UID
                    state.advance_imap(validity, chunk[-1] if n == len(parts) - 1 else part[-1][0])
            if not uids:
                state.advance_imap(validity, last)
        except (imaplib.IMAP4.abort, OSError, socket.timeout) as exc:
            raise ConnectorError(f"the IMAP connection to {self.host} was lost during the sync ({exc}); "
                                 "the next sync goes on where this one stopped", connector=self.connector, transient=True) from None
        finally:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

    def _source(self, validity: int, uid: int) -> str:
        return f"{self.mailbox};UIDVALIDITY={validity};UID={uid}"


def _by_bytes(sized: list[tuple[int, int]], budget: int) -> list[list[tuple[int, int]]]:
    """``(uid, size)`` pairs, in order, cut into runs of at most ``budget`` bytes (a larger one alone)."""
    parts: list[list[tuple[int, int]]] = []
    held = budget + 1
    for uid, size in sized:
        if held + size > budget:
            parts.append([])
            held = 0
        parts[-1].append((uid, size))
        held += size
    return parts


def _split_by_size(data: Any, uids: list[int]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    import re

    sizes: dict[int, int] = {}
    for item in data or []:
        text = item.decode() if isinstance(item, bytes) else str(item)
        m = re.search(r"UID (\d+)", text)
        s = re.search(r"RFC822\.SIZE (\d+)", text)
        if m and s:
            sizes[int(m.group(1))] = int(s.group(1))
    small = [(u, sizes.get(u, 0)) for u in uids if sizes.get(u, 0) <= MAX_BYTES]
    big = [(u, sizes[u]) for u in uids if sizes.get(u, 0) > MAX_BYTES]
    return small, big


def _bodies(data: Any) -> Iterator[tuple[int, bytes]]:
    """(uid, bytes) from a FETCH answer; a server may name the UID before the literal or after it."""
    import re

    items = list(data or [])
    for n, item in enumerate(items):
        if isinstance(item, tuple) and len(item) >= 2:
            m = re.search(rb"UID (\d+)", item[0])
            if m is None and n + 1 < len(items) and isinstance(items[n + 1], bytes):
                m = re.search(rb"UID (\d+)", items[n + 1])
            if m:
                yield int(m.group(1)), item[1]
