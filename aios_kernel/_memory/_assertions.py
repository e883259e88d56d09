"""What connectors learn (an e-mail sent, an invoice issued, a message bounced), signed.

An assertion is a memory of kind ``assertion`` in the long-term tier, with its
provenance (``source_ref``: the effect or the message it came from; ``meta``:
connector, action, fact, ids) and an HMAC-SHA256 over everything that gives it
its meaning: the text's hash, kind, source, time, client, project and meta.
The key is derived from the workspace key (kept outside the workspace), so a
record edited in the store (the table, or a new version written around the
API) no longer matches, and :func:`check` (run by ``aios verify``) names it.
The event log's own hash chain covers the events; this covers what readers
actually read: the current records.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from .._store import Store, _json

KIND = "assertion"
PURPOSE = "aios memory assertions"
"""The HKDF ``info`` of the signing key (one key per purpose, all from the workspace key)."""
SIGNATURE = "signature"
"""The meta key holding the signature (left out of what is signed)."""


def signature(key: bytes, *, content_hash: str, kind: str, source_ref: str | None, event_time: str | None,
              client_id: str | None, project_id: str | None, meta: Mapping[str, Any]) -> str:
    """The HMAC of one record's meaning (see the module docstring)."""
    body = {"content_hash": content_hash, "kind": kind, "source_ref": source_ref, "event_time": event_time,
            "client_id": client_id, "project_id": project_id, "meta": {k: v for k, v in meta.items() if k != SIGNATURE}}
    return "hmac-sha256:" + hmac.new(key, _json.dumps(body).encode("utf-8"), hashlib.sha256).hexdigest()


def check(store: Store, key: bytes) -> tuple[int, list[str]]:
    """Check every version of every assertion: ``(how many were checked, what is wrong)``."""
    checked, problems = 0, []
    for r in store.query(
            "SELECT m.id, m.version, m.kind, m.content_hash, m.meta, m.source_ref, m.event_time, m.client_id, m.project_id,"
            " c.text FROM memories m LEFT JOIN memory_content c ON c.hash = m.content_hash"
            " WHERE m.kind = ? OR m.meta LIKE '%\"signature\":%' ORDER BY m.created_seq", (KIND,)):
        checked += 1
        name = f"memory {r['id']} v{r['version']}"
        try:
            meta = _json.loads(r["meta"]) or {}
        except (*_json.DECODE_ERRORS, TypeError):
            problems.append(f"{name}: its meta is not JSON any more (edited in the store)")
            continue
        if not isinstance(meta, dict) or not isinstance(meta.get(SIGNATURE), str):
            problems.append(f"{name}: an assertion without its signature (written around the API, or its meta was edited)")
            continue
        if r["text"] is not None and hashlib.sha256(r["text"].encode("utf-8")).hexdigest() != r["content_hash"]:
            problems.append(f"{name}: its text was changed in the store after it was signed ({meta.get('fact', 'fact')})")
            continue
        expected = signature(key, content_hash=r["content_hash"], kind=r["kind"], source_ref=r["source_ref"],
                             event_time=r["event_time"], client_id=r["client_id"], project_id=r["project_id"], meta=meta)
        if not hmac.compare_digest(expected, meta[SIGNATURE]):
            problems.append(f"{name}: the record no longer matches its signature: it was edited after "
                            f"{meta.get('connector', 'the connector')} recorded it ({meta.get('fact', 'fact')})")
    return checked, problems
