"""The event log's hash chain, keyed with a secret kept outside the store.

Each event's ``hash`` covers the previous event's hash and the event's own
fields, so changing, removing or reordering an event breaks every hash after
it. A plain SHA-256 chain only catches accidents: whoever can write
``store.db`` can recompute it after an edit. So the chain is keyed: from the
``chain.keyed`` event on, every hash is HMAC-SHA256 under the workspace key,
which lives outside the store (see ``aios_kernel/_workspace/_keys.py``).

Where the keyed part starts is recorded in ``store_info`` when the chain is keyed:
``chain_keyed_seq`` (the first keyed event), ``chain_key_id`` (the key's public
fingerprint) and ``chain_keyed_mac``, an HMAC over the workspace id, that seq,
the hash of the event before it and the key id. Nobody without the key can move
the start (to pass keyed events off as plain ones) or forge the record. A new store
is keyed from event 1. A store written before keyed chains holds a prefix of plain
SHA-256 events; the first open with a key keys it from the next event, and the
record's HMAC over the prefix's last hash seals the prefix as it was then.

Where keys come from is the job of a :class:`KeyRing`, registered by the
workspace layer with :func:`use_keys` (the store never imports upward).
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from dataclasses import dataclass, field
from typing import Protocol

from .._errors import StoreError

GENESIS = "0" * 64
_KEY_ID_LABEL = b"aios chain key id"
_RECORD_LABEL = "aios chain keyed"


@dataclass(frozen=True, repr=False)
class ChainKey:
    """A workspace key: the secret, and where it came from (for messages; never the secret itself)."""

    secret: bytes
    source: str = "given"
    _base: hmac.HMAC = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) < 16:
            raise StoreError("a chain key must be at least 16 bytes")
        object.__setattr__(self, "_base", hmac.new(self.secret, digestmod=hashlib.sha256))

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key (recorded in ``chain.keyed``): tells a wrong key from an altered log."""
        return hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def record_mac(self, workspace_id: str, keyed_seq: int, prev_hash: str) -> str:
        """The HMAC of the record saying from which event (after which hash) this key keys the chain."""
        return self.mac("\x1f".join([_RECORD_LABEL, workspace_id, str(keyed_seq), prev_hash, self.key_id]).encode())

    def mac(self, body: bytes) -> str:
        h = self._base.copy()
        h.update(body)
        return h.hexdigest()

    def __repr__(self) -> str:  # never the secret
        return f"ChainKey(source={self.source!r}, key_id={self.key_id!r})"


class KeyRing(Protocol):
    """Finds (and on first use creates) the key of a workspace, and remembers which logs were keyed."""

    def key(self, workspace_id: str, *, create: bool, store_path: object) -> ChainKey | None:
        """The workspace's key; ``None`` when it is missing and ``create`` is false."""

    def sealed(self, workspace_id: str) -> bool:
        """True once a log of this workspace was keyed (so an unkeyed log of it was rewritten)."""

    def seal(self, workspace_id: str) -> None:
        """Remember that this workspace's log is keyed."""


_KEYS: list[KeyRing | None] = [None]


def use_keys(ring: KeyRing | None) -> None:
    """Make ``ring`` the key ring every ``Store.open`` uses unless told otherwise."""
    _KEYS[0] = ring


def default_keys() -> KeyRing | None:
    return _KEYS[0]


def body(prev_hash: str, seq: int, id: str, at: str, type: str, entity: str, payload_json: str, actor: str,
         correlation_id: str | None, cause_id: str | None) -> bytes:
    """The bytes one event's hash covers (UnicodeEncodeError for text that is not valid Unicode)."""
    return "\x1f".join([prev_hash, str(seq), id, at, type, entity, payload_json, actor, correlation_id or "",
                        cause_id or ""]).encode()


def digest(data: bytes, key: ChainKey | None) -> str:
    """HMAC-SHA256 of ``data`` under ``key``, or plain SHA-256 without one."""
    return key.mac(data) if key is not None else hashlib.sha256(data).hexdigest()


def chain_hash(prev_hash: str, seq: int, id: str, at: str, type: str, entity: str, payload_json: str,
               actor: str, correlation_id: str | None, cause_id: str | None, *, key: ChainKey | None = None) -> str:
    """The hash of one event given its predecessor's: HMAC-SHA256 under ``key``, plain SHA-256 without."""
    return digest(body(prev_hash, seq, id, at, type, entity, payload_json, actor, correlation_id, cause_id), key)


@dataclass
class ChainCheck:
    """What walking the chain found."""

    checked: int = 0
    bad_seq: int | None = None
    why: str | None = None
    unchecked_from: int | None = None
    """Without a key: the first keyed event, from which hashes were not checked."""
    head_before_keyed: str | None = None
    """The hash of the event before the first keyed one (what the keyed record seals)."""


def verify(conn: sqlite3.Connection, key: ChainKey | None, keyed_seq: int | None) -> ChainCheck:
    """Walk the chain: plain SHA-256 before ``keyed_seq``, HMAC under ``key`` from it on.

    Without a key the keyed part is walked for its links only: ``unchecked_from``
    says where checking the hashes stopped.
    """
    out = ChainCheck()
    prev_hash = GENESIS
    expected_seq = 1
    for row in conn.execute(
        "SELECT seq, id, at, type, entity, payload, actor, correlation_id, cause_id, prev_hash, hash FROM events ORDER BY seq"
    ):
        seq = row[0]
        if seq != expected_seq:
            out.bad_seq, out.why = seq, f"event {expected_seq} is missing (found {seq} next)"
            return out
        if row[9] != prev_hash:
            out.bad_seq, out.why = seq, f"event {seq} does not link to event {seq - 1}"
            return out
        keyed = keyed_seq is not None and seq >= keyed_seq
        if seq == keyed_seq:
            out.head_before_keyed = prev_hash
        if keyed and key is None:
            out.unchecked_from = out.unchecked_from or seq
            prev_hash = row[10]
            expected_seq += 1
            continue
        try:
            data = body(prev_hash, *row[:9])
        except (UnicodeEncodeError, TypeError):
            out.bad_seq, out.why = seq, f"event {seq} holds a field that is not text (written outside the workbench)"
            return out
        expected = digest(data, key if keyed else None)
        if not hmac.compare_digest(expected, str(row[10])):
            out.bad_seq, out.why = seq, f"event {seq} ({row[3]}) was altered after it was written"
            return out
        prev_hash = expected
        expected_seq += 1
        out.checked += 1
    if keyed_seq is not None and keyed_seq == expected_seq:
        out.head_before_keyed = prev_hash
    return out
