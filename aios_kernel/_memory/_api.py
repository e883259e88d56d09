"""``wb.memory``: remember, recall, update, forget, and look around.

One :class:`Memory` per open workspace. Records live in the store (see
``_schema``); this class validates, writes events, embeds through Dask and
keeps the retrieval caches (``_engine``) in step.
"""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _values
from .._errors import ValidationError
from .._ids import iso, new_id
from .._limits import LIMITS
from .._store import Store, _json
from . import _records
from ._embed import DaskEmbedder, EmbedSettings
from ._engine import Engine, MemoryWarning
from ._index import EXACT_MAX
from ._retrieve import RetrievalParams, rank
from ._schema import TIERS
from ._types import Hit, Hits, MemoryRef, Version, memory_id_of

if TYPE_CHECKING:
    import polars as pl
    from matplotlib.figure import Figure

    from .._workspace import Config, WorkspacePaths
    from ._artifacts import ArtifactReport
    from ._explore import Stats
    from ._retention import PruneReport

log = logging.getLogger("aios.memory")

F = TypeVar("F", bound=Callable[..., Any])


def _serialised(method: F) -> F:
    """One call at a time per Memory: the notebook and the workbench's background worker may share one."""

    @functools.wraps(method)
    def locked(self: Memory, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]

SAVE_AFTER = 1000
"""An ingest adding at least this many vectors saves the index file right away."""


class Memory:
    """Tiered, versioned memory with provenance, for one workspace.

    ``remember`` returns a :class:`MemoryRef` (a ``str`` such as
    ``"mem:m_0193...@v1"`` whose ``.id`` is the memory id); every method that
    takes an id accepts a ref too.
    """

    def __init__(self, store: Store, paths: WorkspacePaths, config: Config, *, embedder: Any = None,
                 actor: str = "operator", models: Callable[[], Any] | None = None) -> None:
        self.store = store
        self._models = models
        self.paths = paths
        self.config = config
        self.actor = actor
        self.session_id = new_id("sess")
        self.embedder = embedder or DaskEmbedder(EmbedSettings.from_config(config))
        self.max_chars = int(config.get("memory.max_chars") or _records.DEFAULT_MAX_CHARS)
        self.extra_kinds = tuple(config.get("memory.kinds") or ())
        self.params = RetrievalParams()
        self._engine: Engine | None = None
        self._signing_key: bytes | None = None
        self._qcache: OrderedDict[str, Any] = OrderedDict()
        self._closed = False
        self._lock = threading.RLock()

    # -- writing ---------------------------------------------------------------------

    def remember(self, text: str, tier: str = "working", kind: str = "note", meta: Mapping[str, Any] | None = None,
                 source: str | None = None, event_time: datetime | str | None = None, ttl: Any = None, *,
                 source_ref: str | None = None, derived_from: Iterable[str] = (), client: str | None = None,
                 project: str | None = None, episode: str | None = None, sensitive: bool = False,
                 actor: str | None = None) -> MemoryRef:
        """Store one memory and index it; returns its ref.

        ``source`` is where it came from (``"file"``, ``"email:<id>"``,
        ``"agent"``...), ``derived_from`` the ids it was made from,
        ``event_time`` when it happened (the record time is now), ``ttl`` a
        lifetime in days (or a timedelta). Sensitive memories never go to a
        remote model and can be purged.
        """
        item = {"text": text, "tier": tier, "kind": kind, "meta": meta, "source": source, "event_time": event_time,
                "ttl": ttl, "source_ref": source_ref, "derived_from": derived_from, "client": client,
                "project": project, "episode": episode, "sensitive": sensitive}
        return self.remember_many([item], actor=actor, progress=False)[0]

    @_serialised
    def remember_many(self, items: Iterable[Mapping[str, Any] | str], *, tier: str = "working", kind: str = "note",
                      source: str | None = None, actor: str | None = None, progress: bool | None = None,
                      reason: str | None = None, chunk: int = 1000) -> list[MemoryRef]:
        """Store many memories, embedding them in Dask batches; one ref per item, in order.

        Each item is a dict with the keys of :meth:`remember` (``text`` at
        least) or a plain string; ``tier``/``kind``/``source`` here are the
        defaults. Every item is checked before anything is written. Records
        are written in transactions of ``chunk`` items, then embedded; an
        item identical to an active memory (same text, tier, kind, meta,
        source and times) returns that memory's ref instead of a copy, so a
        rerun of an interrupted ingest finishes it without duplicates.
        """
        self._check_open()
        actor = self._actor(actor)
        chunk = _values.positive_int(chunk, "chunk", maximum=LIMITS.max_chunk)
        if reason is not None:
            reason = _values.reason(reason)
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise ValidationError(f"items must be a list of texts or dicts, got {type(items).__name__}; "
                                  "use remember() for one memory", field="items")
        defaults = {"tier": tier, "kind": kind, "source": source}
        prepared = []
        for i, item in enumerate(items):
            if isinstance(item, str) or not isinstance(item, Mapping):
                item = {"text": item}
            prepared.append(_records.prepare(item, defaults=defaults, max_chars=self.max_chars,
                                             extra_kinds=self.extra_kinds, session_id=self.session_id, index=i))
        refs: list[MemoryRef] = []
        corr = new_id("remember") if len(prepared) > 1 else None
        for start in range(0, len(prepared), chunk):
            part = prepared[start:start + chunk]
            refs.extend(ref for ref, _ in _records.create_many(self.store, part, actor=actor, correlation_id=corr,
                                                                reason=reason))
        if self._embed({p.chash: p.text for p in prepared}, progress=progress) >= 0:
            self._retry_failed()
        return refs

    def attest(self, text: str, *, fact: str, source_ref: str, meta: Mapping[str, Any] | None = None,
               event_time: datetime | str | None = None, client: str | None = None, project: str | None = None,
               actor: str | None = None, store: Store | None = None) -> MemoryRef:
        """Record what a connector learned (``fact``: ``sent``, ``issued``, ``bounced``...), signed.

        A long-term memory of kind ``assertion`` whose ``source_ref`` names where it was learned
        (``effect:KEY``, ``artifact:ID``), signed with a key derived from the workspace key
        (:mod:`._assertions`): ``aios verify`` reports one edited afterwards. It is written in the
        caller's transaction, if any (with the effect it records), and embedded later with the
        other pending memories; keyword search finds it at once. ``store``: the caller's connection
        (a background worker has its own), so the memory joins the transaction that holds the write lock.
        """
        from .._workspace import derived_key
        from . import _assertions

        self._check_open()
        meta = {**dict(meta or {}), "fact": _values.label(fact, "fact")}
        item = {"text": text, "tier": "long-term", "kind": _assertions.KIND, "meta": meta, "source": "connector",
                "source_ref": source_ref, "event_time": event_time, "client": client, "project": project}
        new = _records.prepare(item, defaults={}, max_chars=self.max_chars, extra_kinds=self.extra_kinds,
                               session_id=self.session_id)
        p = new.payload
        if self._signing_key is None:
            self._signing_key = derived_key(self.paths, _assertions.PURPOSE)
        signed = dict(p["meta"], signature=_assertions.signature(
            self._signing_key, content_hash=p["content_hash"], kind=p["kind"], source_ref=p["source_ref"],
            event_time=p["event_time"], client_id=p["client_id"], project_id=p["project_id"], meta=p["meta"]))
        new = _records.prepare({**item, "meta": signed}, defaults={}, max_chars=self.max_chars,
                               extra_kinds=self.extra_kinds, session_id=self.session_id)
        return _records.create_many(store or self.store, [new], actor=self._actor(actor))[0][0]

    def verify_assertions(self) -> tuple[int, list[str]]:
        """``(assertions checked, problems)``: every signed record against its signature (``aios verify``)."""
        from .._workspace import derived_key
        from . import _assertions

        return _assertions.check(self.store, derived_key(self.paths, _assertions.PURPOSE))

    def _refusal(self, items: Iterable[Mapping[str, Any]]) -> str | None:
        """Why ``remember_many(items)`` would refuse these items (None when it would take them); writes nothing."""
        defaults = {"tier": "working", "kind": "note", "source": None}
        try:
            for i, item in enumerate(items):
                _records.prepare(item, defaults=defaults, max_chars=self.max_chars, extra_kinds=self.extra_kinds,
                                 session_id=self.session_id, index=i)
        except ValidationError as exc:
            return str(exc)
        return None

    @_serialised
    def update(self, id: str, text: str, *, reason: str, meta: Mapping[str, Any] | None = None,
               actor: str | None = None) -> MemoryRef:
        """Write a new version of a memory (the old one stays in ``history``); returns the new ref.

        A signed assertion (what a connector recorded) is not edited: forget it with a reason.
        """
        self._check_open()
        if self.store.scalar("SELECT kind FROM memories WHERE id=? AND status='active'", (memory_id_of(id),)) == "assertion":
            raise ValidationError(f"{id} is what a connector recorded (a signed assertion) and is not edited; "
                                  "if it is wrong, forget it with the reason (wb.memory.forget(id, reason=...))", field="id")
        ref, previous = _records.update(self.store, id, text, meta=meta, reason=reason, actor=self._actor(actor),
                                        max_chars=self.max_chars)
        if previous is not None:
            row = self.store.one("SELECT c.hash, c.text FROM memories m JOIN memory_content c ON c.hash=m.content_hash WHERE m.id=?",
                                 (ref.id,))
            self._embed({row[0]: row[1]}, progress=False)
        return ref

    @_serialised
    def forget(self, id: str, *, reason: str, actor: str | None = None) -> None:
        """Tombstone a memory: recall stops returning it at once; its history and events stay."""
        self._check_open()
        _records.tombstone(self.store, id, type="memory.forgotten", reason=reason, actor=self._actor(actor))
        self._sync_if_ready()

    @_serialised
    def move(self, id: str, tier: str, *, reason: str = "moved", actor: str | None = None) -> MemoryRef:
        """Move a memory to another tier (an event; the text and version stay)."""
        self._check_open()
        ref = _records.move(self.store, id, tier, reason=reason, actor=self._actor(actor), session_id=self.session_id)
        self._sync_if_ready()
        return ref

    @_serialised
    def promote(self, id: str, to: str | None = None, *, reason: str = "promoted", actor: str | None = None) -> MemoryRef:
        """Move a memory one tier up (session -> working -> long-term), or to ``to``."""
        row = _records.get_row(self.store, id, active=True)
        target = to if to is not None else TIERS[min(TIERS.index(row["tier"]) + 1, len(TIERS) - 1)]
        return self.move(row["id"], target, reason=reason, actor=actor)

    @_serialised
    def mark_sensitive(self, id: str, sensitive: bool = True, *, reason: str = "marked by the operator",
                       actor: str | None = None) -> None:
        """Flag a memory as sensitive (never sent to a remote model) or clear the flag."""
        self._check_open()
        _records.mark(self.store, id, sensitive=sensitive, actor=self._actor(actor), reason=reason)

    @_serialised
    def purge(self, id: str, *, reason: str, actor: str | None = None) -> list[str]:
        """Remove a memory's text (every version) and vectors for good; the events keep only hashes."""
        self._check_open()
        hashes = _records.purge(self.store, id, reason=reason, actor=self._actor(actor))
        self._sync_if_ready()
        return hashes

    # -- reading ---------------------------------------------------------------------

    def get(self, id: str) -> dict[str, Any]:
        """The current record of a memory (text, tier, kind, meta, provenance, status)."""
        return _records.get_row(self.store, id)

    def history(self, id: str) -> list[Version]:
        """Every version of a memory, oldest first (forgotten memories keep theirs)."""
        return _records.history(self.store, id)

    def audit(self, id: str) -> list[Any]:
        """Every event about a memory: who did what, when and why."""
        mid = memory_id_of(id)
        events = self.store.events(entity=f"memory:{mid}")
        if not events:
            from .._errors import NotFoundError

            raise NotFoundError(f"no memory with id {mid!r}", id=mid)
        return events

    def is_sensitive(self, id: str) -> bool:
        """Whether the model layer must keep this memory away from remote models."""
        return bool(self.get(id)["sensitive"])

    @_serialised
    def recall(self, query: str, k: int = 10, tier: str | Sequence[str] | None = None,
               where: Mapping[str, Any] | None = None, since: datetime | str | None = None,
               until: datetime | str | None = None, *, kind: str | Sequence[str] | None = None,
               client: str | None = None, project: str | None = None, now: datetime | None = None,
               params: RetrievalParams | None = None) -> Hits:
        """The ``k`` memories that best answer ``query``, each with ``why`` and ``ref``.

        Filters are exact: ``tier``/``kind`` (one or several), ``client``,
        ``project``, ``where`` (meta key -> value, or a list of accepted
        values), ``since``/``until`` (event time, else record time). Date
        words in the query ("last week", "in May 2023") are read relative to
        ``now`` and favour memories from that window.
        """
        self._check_open()
        if not isinstance(query, str) or not query.strip():
            raise ValidationError("recall needs a non-empty query string", field="query")
        _values.text(query, "query", max_chars=LIMITS.max_query_chars)
        k = _values.positive_int(k, "k", maximum=LIMITS.max_k)
        now = _values.optional_time(now, "now")
        if params is not None and not isinstance(params, RetrievalParams):
            raise ValidationError(f"params must be a RetrievalParams, got {type(params).__name__}", field="params")
        filters = self._filters(tier, kind, client, project, where, since, until)
        engine = self._ready_engine()
        mask = self._mask(engine, *filters)
        np = __import__("numpy")

        def dense(text: str, n: int, m: Any, feedback: list[int] | None, weight: float) -> tuple[Any, Any]:
            if engine.index.ntotal == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            vec = self._query_vector(text)
            if feedback and weight:  # pseudo-relevance feedback: move the query toward its top hits
                tops = [v for v in (engine.vector_of(s) for s in feedback) if v is not None]
                if tops:
                    vec = vec + weight * np.mean(tops, axis=0)
                    vec = vec / max(float(np.linalg.norm(vec)), 1e-9)
            return engine.dense(vec, n, m)

        ranked = rank(engine.cat, query, k, mask, dense, params or self.params, now=now)
        hits = Hits(self._hits(engine, ranked))
        hits.query = query
        return hits

    def _hits(self, engine: Engine, ranked: list[Any]) -> list[Hit]:
        if not ranked:
            return []
        ids = [engine.cat.ids[r.slot] for r in ranked]
        rows = {}
        for r in self.store.query("SELECT m.*, c.text FROM memories m JOIN memory_content c ON c.hash=m.content_hash "
                                  f"WHERE m.id IN ({','.join('?' * len(ids))})", ids):
            try:
                rows[r["id"]] = _records.decode(dict(r))
            except _json.DECODE_ERRORS:
                continue  # damaged since the last sync: left out, as the catalog leaves such rows out
        out = []
        for r in ranked:
            row = rows.get(engine.cat.ids[r.slot])
            if row is None or row["status"] != "active" or row["text"] is None:
                continue  # changed by another process since the last sync
            out.append(Hit(id=row["id"], text=row["text"], score=round(float(r.score), 6), meta=row["meta"], why=r.why,
                           version=row["version"], tier=row["tier"], kind=row["kind"], source=row["source"],
                           source_ref=row["source_ref"], derived_from=row["derived_from"], event_time=row["event_time"],
                           created_at=row["created_at"], sensitive=row["sensitive"], client=row["client_id"],
                           project=row["project_id"]))
        return out

    def _filters(self, tier: Any, kind: Any, client: Any, project: Any, where: Any, since: Any,
                 until: Any) -> tuple[Any, ...]:
        """recall's filters checked and converted, before any work: (tier codes, kinds, client, project, where, since, until)."""
        tiers = None if tier is None else [TIERS.index(_records.check_tier(t)) for t in _names(tier, "tier")]
        kinds = None if kind is None else [_records.check_kind(k_, self.extra_kinds) for k_ in _names(kind, "kind")]
        client = _values.optional_identifier(client, "client")
        project = _values.optional_identifier(project, "project")
        if where is not None:
            if not isinstance(where, Mapping):
                raise ValidationError(f"where must be a dict of meta key -> value, got {type(where).__name__}", field="where")
            where = _values.json_value({k: sorted(v, key=repr) if isinstance(v, (set, frozenset)) else v
                                        for k, v in where.items()}, "where")
        return tiers, kinds, client, project, where, _epoch(since, "since"), _epoch(until, "until")

    def _mask(self, engine: Engine, tiers: Any, kinds: Any, client: Any, project: Any, where: Any, since: Any,
              until: Any) -> Any:
        np = __import__("numpy")
        cat = engine.cat
        mask = cat.active[:cat.size].copy()
        if tiers is not None:
            mask &= np.isin(cat.tier[:cat.size], tiers)
        if kinds is not None:
            mask &= np.isin(cat.kind[:cat.size], [cat.kind_codes.get(k_, -1) for k_ in kinds])
        for value, column in ((client, cat.client), (project, cat.project)):
            if value is not None:
                mask &= np.fromiter((c == value for c in column), bool, count=cat.size)
        if where:
            for key, value in where.items():
                values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
                mask &= cat.where_mask(key, values)
        if since is not None or until is not None:
            ts = cat.ts[:cat.size]
            with np.errstate(invalid="ignore"):
                if since is not None:
                    mask &= ts >= since
                if until is not None:
                    mask &= ts < until
        return mask

    def _query_vector(self, query: str) -> Any:
        v = self._qcache.get(query)
        if v is None:
            v = self.embedder.query_vector(query)
            self._qcache[query] = v
            if len(self._qcache) > 256:
                self._qcache.popitem(last=False)
        else:
            self._qcache.move_to_end(query)
        return v

    # -- embeddings ------------------------------------------------------------------

    def pending(self) -> int:
        """Active memories whose text has no vector for the current model yet."""
        return int(self.store.scalar(
            "SELECT count(*) FROM memories m LEFT JOIN memory_embeddings e ON e.content_hash=m.content_hash AND e.model_id=? "
            "WHERE m.status='active' AND e.content_hash IS NULL", (self.embedder.model_id,)))

    @_serialised
    def embed_pending(self, *, progress: bool | None = None) -> int:
        """Embed every active memory still waiting for a vector (after a failure or a model change); -1 if some failed again."""
        self._check_open()
        rows = self.store.query(
            "SELECT DISTINCT c.hash, c.text FROM memories m JOIN memory_content c ON c.hash=m.content_hash "
            "LEFT JOIN memory_embeddings e ON e.content_hash=m.content_hash AND e.model_id=? "
            "WHERE m.status='active' AND e.content_hash IS NULL AND c.text IS NOT NULL", (self.embedder.model_id,))
        return self._embed({r[0]: r[1] for r in rows}, progress=progress, known_missing=True)

    def _retry_failed(self, limit: int = 1000) -> None:
        """Retry memories whose embedding failed before, once the embedder works again."""
        rows = self.store.query(
            "SELECT f.content_hash, c.text FROM memory_embed_failures f JOIN memory_content c ON c.hash=f.content_hash "
            "WHERE f.model_id=? AND c.text IS NOT NULL LIMIT ?", (self.embedder.model_id, limit))
        if rows:
            self._embed({r[0]: r[1] for r in rows}, progress=False, known_missing=True)

    def _embed(self, texts: dict[str, str], *, progress: bool | None, known_missing: bool = False) -> int:
        """Embed the texts whose hash has no vector for the model yet; how many were embedded, -1 if any failed."""
        model_id = self.embedder.model_id
        self._ensure_model(model_id)
        hashes = list(texts)
        if not known_missing:
            have: set[str] = set()
            for start in range(0, len(hashes), 500):
                part = hashes[start:start + 500]
                have.update(r[0] for r in self.store.query(
                    f"SELECT content_hash FROM memory_embeddings WHERE model_id=? AND content_hash IN ({','.join('?' * len(part))})",
                    (model_id, *part)))
            hashes = [h for h in hashes if h not in have]
        if not hashes:
            return 0
        batch_texts = [texts[h] for h in hashes]
        done = 0

        def store_batch(positions: list[int], vectors: Any) -> None:
            nonlocal done
            now = iso()
            rows = [(hashes[p], model_id, int(vectors.shape[1]), vectors[i].astype("float32").tobytes(), now)
                    for i, p in enumerate(positions)]
            with self.store.atomic() as conn:
                conn.executemany("INSERT OR IGNORE INTO memory_embeddings VALUES (?,?,?,?,?)", rows)
                conn.executemany("DELETE FROM memory_embed_failures WHERE content_hash=? AND model_id=?",
                                 [(r[0], model_id) for r in rows])
            done += len(rows)

        failures = self.embedder.embed(batch_texts, store_batch, progress=progress)
        if failures:
            now = iso()
            with self.store.atomic() as conn:
                for f in failures:
                    conn.executemany(
                        "INSERT INTO memory_embed_failures VALUES (?,?,1,?,?) ON CONFLICT(content_hash, model_id) "
                        "DO UPDATE SET attempts=attempts+1, last_error=excluded.last_error, at=excluded.at",
                        [(hashes[p], model_id, f.error, now) for p in f.positions])
            n = sum(len(f.positions) for f in failures)
            warnings.warn(f"{n} memories could not be embedded ({failures[0].error}); they are kept, found by keyword "
                          "search, and retried with the next remember_many (or wb.memory.embed_pending())",
                          MemoryWarning, stacklevel=3)
        if self._engine is not None and self._engine.ready:
            self._engine.sync()
            if done >= SAVE_AFTER:
                self._engine.save()
        return -1 if failures else done

    def _ensure_model(self, model_id: str) -> None:
        active = self.store.scalar("SELECT model_id FROM memory_models WHERE active=1")
        if active == model_id:
            return
        if active is not None:
            log.info("embedding model changed from %s to %s: re-embedding", active, model_id)
        self.store.emit("memory.model_changed", "memory_model:" + model_id,
                        {"model_id": model_id, "dim": self.embedder.dim, "previous": active}, actor="system")

    @_serialised
    def migrate_embeddings(self, *, progress: bool | None = True) -> int:
        """Re-embed every active memory with the configured model (after ``[models] embedding`` changed)."""
        self._ensure_model(self.embedder.model_id)
        n = self.embed_pending(progress=progress)
        if self._engine is not None and self._engine.model_id != self.embedder.model_id:
            self._engine = None
        return n

    # -- upkeep ----------------------------------------------------------------------

    @_serialised
    def prune(self, *, now: datetime | None = None, dry_run: bool = False) -> PruneReport:
        """Expire what the retention policies (``[memory.retention.*]``) and ttls say must go; each removal is an event."""
        from ._retention import prune

        self._check_open()
        return prune(self, now=_values.optional_time(now, "now"), dry_run=bool(dry_run))

    @_serialised
    def condense(self, *, episode: str | None = None, session: str | None = None, ids: Sequence[str] | None = None,
                 max_facts: int = 5, actor: str = "agent:condenser") -> list[MemoryRef]:
        """Summarise one episode (meta session/thread), kernel session or list of memories into facts.

        The facts go to the working tier, each ``derived_from`` every source
        memory; the local model writes them (through ``wb.models``), an
        extractive summary stands in when it cannot.
        """
        from ._condense import condense

        self._check_open()
        return condense(self, episode=_values.optional_identifier(episode, "episode"),
                        session=_values.optional_identifier(session, "session"),
                        ids=None if ids is None else _records.check_ids(ids, "ids"),
                        max_facts=_values.positive_int(max_facts, "max_facts", maximum=100), actor=_records.check_actor(actor))

    def models(self) -> Any:
        """The generation service condensation uses (the workbench's ``wb.models``)."""
        if self._models is not None:
            return self._models()
        if "models" not in self.__dict__:
            from .._models import Models

            self.__dict__["models"] = Models(self.store, self.config)
        return self.__dict__["models"]

    @_serialised
    def ingest_artifacts(self, *, progress: bool | None = None, only: list[str] | None = None) -> ArtifactReport:
        """Bring the workspace's artifacts (notes, meetings, documents, e-mails) into memory; idempotent.

        ``only``: just these artifact ids (what a mail sync brought in), no search for vanished ones.
        """
        from ._artifacts import ingest_artifacts

        self._check_open()
        return ingest_artifacts(self, progress=progress, only=only)

    # -- looking around --------------------------------------------------------------

    def frame(self, *, status: str | None = "active", tier: str | None = None, kind: str | None = None) -> pl.DataFrame:
        """Memories as a polars DataFrame (``status=None`` for all, forgotten ones included)."""
        from ._explore import frame

        return frame(self.store, self.embedder.model_id, status=status, tier=tier, kind=kind)

    def plot(self, *, by: str = "tier") -> Figure:
        """Growth of active memories over time by ``tier``, ``kind`` or ``tier_kind`` (a matplotlib Figure)."""
        from ._explore import plot_growth

        return plot_growth(self.store, by=by)

    def stats(self) -> Stats:
        """Counts by tier, kind and status, and how many wait for a vector."""
        from ._explore import stats

        return stats(self.store, self.embedder.model_id, self.pending())

    def _repr_html_(self) -> str:
        return self.stats()._repr_html_()

    # -- caches ----------------------------------------------------------------------

    def _ready_engine(self) -> Engine:
        if self._engine is None or self._engine.model_id != self.embedder.model_id:
            active = self.store.scalar("SELECT model_id FROM memory_models WHERE active=1")
            if active is not None and active != self.embedder.model_id:
                self.migrate_embeddings()
            self._engine = Engine(self.store, self.paths.index, self.embedder.model_id, self.embedder.dim,
                                  exact_max=int(self.config.get("memory.exact_max") or EXACT_MAX),
                                  nprobe=int(self.config.get("memory.nprobe") or 0))
        self._engine.sync()
        return self._engine

    def _sync_if_ready(self) -> None:
        if self._engine is not None and self._engine.ready:
            self._engine.sync()

    def _actor(self, actor: Any) -> str:
        return self.actor if actor is None else _records.check_actor(actor)

    def _check_open(self) -> None:
        if self._closed:
            from .._errors import WorkspaceError

            raise WorkspaceError("this workspace's memory is closed; open the workspace again (Workbench.open)")

    @_serialised
    def close(self) -> None:
        """End the session: expire its session-tier memories, save the index, disconnect Dask."""
        if self._closed:
            return
        try:
            from ._retention import end_session

            end_session(self)
            if self._engine is not None:
                self._engine.sync()
                self._engine.save()
        finally:
            self.embedder.close()
            self._closed = True

    def __repr__(self) -> str:
        n = self.store.scalar("SELECT count(*) FROM memories WHERE status='active'")
        return f"<Memory {n} active memories, model {self.embedder.model_id}>"


def _epoch(value: Any, field: str) -> float | None:
    dt = _records.to_datetime(value, field)
    return None if dt is None else dt.timestamp()


def _names(value: Any, field: str) -> list[Any]:
    """One name or several (a list, tuple or set) as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    raise ValidationError(f"{field} must be a name or a list of names, got {type(value).__name__}", field=field)
