"""Artifacts (notes, meetings, documents, e-mails) flowing into memory.

Each artifact is cut into passages of up to about ``PASSAGE_CHARS``
characters along its headings and paragraphs, each passage prefixed with the
artifact's title (and for e-mails the sender) so it stands on its own. A
passage is a memory: kind = the artifact's kind, ``source`` file or email,
``source_ref`` ``artifact:<id>``, meta ``artifact_id``/``title``/``chunk``
plus the artifact's own meta (an e-mail's ``from``, ``thread_id``, ``flags``,
``untrusted``), event time = the artifact's date, episode = the e-mail
thread or the artifact, so neighbouring passages expand each other.

An e-mail that ingest recognised as automated (a receipt, a card or bank
notice, a booking, a newsletter) also gives one ``fact`` memory in the
long-term tier: what it says that matters (an amount charged, the merchant, a
booking reference, a date) as one sentence, with the facts in meta
(``facts``, ``automated``) and the same provenance (``source_ref``
``artifact:<id>``), so "what did Mixpanel charge in February?" is answered
from memory while the notice itself is only filed. The e-mail's inbound
findings stay on the artifact; passages carry its flags and its automated kind.

Idempotent: an unchanged artifact writes nothing (content hashes); a changed
passage becomes a new version of its memory (reason "source changed"); a
passage that no longer exists is forgotten. Templates are not memories.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._store import _json

if TYPE_CHECKING:
    from ._api import Memory

PASSAGE_CHARS = 1000
FACT_CHUNK = -1
"""The chunk number of an automated e-mail's fact memory (passages count from 0)."""
TIER_OF_KIND = {"document": "long-term"}
SKIP_KINDS = {"template"}
ACTOR = "ingest"


@dataclass
class ArtifactReport:
    """What ``ingest_artifacts`` did."""

    artifacts: int = 0
    created: int = 0
    updated: int = 0
    forgotten: int = 0
    unchanged: int = 0
    refs: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Artifacts left out because their passages are not valid memories (each with a MemoryWarning)."""

    def __str__(self) -> str:
        return (f"memory from {self.artifacts} artifacts: {self.created} passages new, {self.updated} updated, "
                f"{self.forgotten} forgotten, {self.unchanged} unchanged"
                + (f", {len(self.skipped)} left out" if self.skipped else ""))


def passages(text: str, limit: int = PASSAGE_CHARS) -> list[str]:
    """``text`` cut at headings and blank lines into pieces of at most ``limit`` characters (a longer paragraph is cut at sentences)."""
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=#{1,6}\s)", text.strip()):
        block = block.strip()
        while len(block) > limit:
            cut = max(block.rfind(". ", 0, limit), block.rfind("\n", 0, limit))
            cut = cut + 1 if cut > limit // 3 else limit
            blocks.append(block[:cut].strip())
            block = block[cut:].strip()
        if block:
            blocks.append(block)
    out: list[str] = []
    for b in blocks:
        heading_alone = bool(out) and re.fullmatch(r"#{1,6}\s.*", out[-1]) is not None
        if out and (len(out[-1]) + len(b) + 2 <= limit or heading_alone) and len(out[-1]) + len(b) + 2 <= 2 * limit:
            out[-1] = f"{out[-1]}\n\n{b}"
        else:
            out.append(b)
    return out


def fact_text(facts: list[dict[str, Any]], kind: str, *, title: str, sender: str, date: str) -> str:
    """One sentence for the facts of an automated e-mail: what, from whom, when, how much, which reference."""
    merchant = next((f["name"] for f in facts if f.get("type") == "merchant"), "")
    parts = [f"{kind.capitalize()} from {merchant or sender or 'an automated sender'}"
             + (f" ({sender})" if merchant and sender and sender not in merchant else "")
             + (f", {date[:10]}" if date else "") + f": {title}."]
    for f in facts:
        t = f.get("type")
        if t == "amount":
            role = f.get("role")
            parts.append(f"Amount{' ' + role if role and role != 'mentioned' else ''}: {f['amount']} {f['currency']}.")
        elif t == "reference":
            parts.append(f"Reference: {f['value']}.")
        elif t == "date":
            parts.append(f"Date: {f.get('date') or f.get('text')}.")
        elif t == "event":
            what = ", ".join(f"{k} {v}" for k, v in f.items() if k != "type")
            parts.append(f"Calendar entry: {what}.")
        elif t == "title" and kind == "newsletter":
            parts.append(f"Issue: {f['value']}.")
    return " ".join(parts)


def items_for(artifact: dict[str, Any]) -> list[dict[str, Any]]:
    meta = dict(artifact.get("meta") or {})
    inbound = meta.pop("inbound", None) or {}  # the findings stay on the artifact: memory keeps flags and the kind
    auto = inbound.get("automated") or None
    if auto:
        meta["automated"] = auto.get("kind")
    kind = artifact["kind"]
    head = artifact["title"]
    if kind == "email":
        sender = meta.get("from_name") or meta.get("from") or ""
        head = f"{artifact['title']} (e-mail from {sender})" if sender else artifact["title"]
    episode = meta.get("thread_id") or artifact["id"]
    out = []
    for i, body in enumerate(passages(artifact["body"] or "") or [artifact["title"]]):
        m = dict(meta, artifact_id=artifact["id"], title=artifact["title"], chunk=i, path=artifact.get("source_path"))
        out.append({"text": f"{head}\n\n{body}", "tier": TIER_OF_KIND.get(kind, "working"), "kind": kind, "meta": m,
                    "source": "email" if kind == "email" else "file", "source_ref": f"artifact:{artifact['id']}",
                    "event_time": artifact.get("date") or None, "client": artifact.get("client_id"),
                    "project": artifact.get("project_id"), "episode": str(episode)})
    facts = inbound.get("facts") or []
    if kind == "email" and auto and facts:
        sender = meta.get("from") or ""
        text = fact_text(facts, str(auto.get("kind")), title=artifact["title"], sender=sender, date=artifact.get("date") or "")
        m = dict(meta, artifact_id=artifact["id"], title=artifact["title"], chunk=FACT_CHUNK, path=artifact.get("source_path"),
                 facts=facts, confidence=auto.get("confidence"))
        out.append({"text": text, "tier": "long-term", "kind": "fact", "meta": m, "source": "email",
                    "source_ref": f"artifact:{artifact['id']}", "event_time": artifact.get("date") or None,
                    "client": artifact.get("client_id"), "project": artifact.get("project_id"), "episode": str(episode)})
    return out


def ingest_artifacts(memory: Memory, *, progress: bool | None = None, only: list[str] | None = None) -> ArtifactReport:
    """Bring memory in line with the ``artifacts`` table (see the module docstring).

    ``only``: just these artifacts (new mail a sync brought in), without looking for vanished ones.
    """
    from .. import _entities

    report = ArtifactReport()
    existing: dict[str, dict[int, tuple[str, str]]] = {}
    scope, params = "", ()
    if only is not None:
        if not only:
            return report
        scope = f" AND m.source_ref IN ({','.join('?' * len(only))})"
        params = tuple(f"artifact:{a}" for a in only)
    for r in memory.store.query(
            "SELECT m.id, m.source_ref, m.meta, c.text FROM memories m JOIN memory_content c ON c.hash=m.content_hash "
            "WHERE m.status='active' AND m.source_ref LIKE 'artifact:%' AND m.kind <> 'assertion'" + scope, params):
        try:
            chunk = int((_json.loads(r["meta"]) or {}).get("chunk", 0))
        except (*_json.DECODE_ERRORS, AttributeError):
            continue  # a damaged row (`aios verify` names it): its passage is written again below
        existing.setdefault(r["source_ref"][len("artifact:"):], {})[chunk] = (r["id"], r["text"])
    new_items: list[dict[str, Any]] = []
    updates: list[tuple[str, str, dict[str, Any]]] = []
    stale: list[str] = []
    artifacts = _entities.rows(memory.store, "artifacts") if only is None else \
        [a for a in (_entities.get(memory.store, "artifacts", i) for i in dict.fromkeys(only)) if a is not None]
    for art in artifacts:
        if art["kind"] in SKIP_KINDS:
            continue
        report.artifacts += 1
        have = existing.pop(art["id"], {})
        items = items_for(art)
        problem = memory._refusal(items)
        if problem:
            # One artifact that cannot become memory (a damaged row, or a source past a limit) must
            # not keep the others out: it is left out, and said so.
            from ._engine import MemoryWarning

            warnings.warn(f"artifact {art['id']} ({art.get('source_path')}) was not brought into memory: {problem}",
                          MemoryWarning, stacklevel=3)
            report.skipped.append(art["id"])
            continue
        for item in items:
            old = have.pop(int(item["meta"]["chunk"]), None)
            if old is None:
                new_items.append(item)
            elif old[1] == item["text"]:
                report.unchanged += 1
            else:
                updates.append((old[0], item["text"], item["meta"]))
        stale.extend(mid for mid, _ in have.values())
    for chunks in existing.values():  # artifacts that are gone
        stale.extend(mid for mid, _ in chunks.values())
    if new_items:
        refs = memory.remember_many(new_items, actor=ACTOR, progress=progress, reason="ingested from artifacts")
        report.created = len(refs)
        report.refs = [str(r) for r in refs]
    for mid, text, meta in updates:
        memory.update(mid, text, meta=meta, reason="source changed", actor=ACTOR)
        report.updated += 1
    for mid in stale:
        memory.forget(mid, reason="no longer in its source artifact", actor=ACTOR)
        report.forgotten += 1
    return report
