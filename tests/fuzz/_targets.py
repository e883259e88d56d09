"""The boundaries under fuzz: for each, what a case is, how it is run, and what must hold.

A target's ``run(ctx, case)`` performs one call on a real workspace (real SQLite file,
the real embedding model) and checks its promises:

- the call returns, or raises an ``AiosError`` (a *documented* refusal); anything else
  escaping is *undocumented* and is reported as such by whoever runs the case;
- a refused call writes nothing (the event log does not move);
- an ingest never raises: each file is ingested or recorded as rejected, and a rejected
  file writes nothing but its rejection;
- what was accepted reads back (a stored memory is found by ``get`` and ``recall``).

A broken promise raises :class:`Broken`. ``Context.verify()`` (run after each case by
the property tests, every few cases by ``make fuzz``) must stay OK: the hash chain and
every projection invariant.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from aios_kernel import AgentResult, AiosError, Evidence, FunctionAgent, Step, Workbench, Workflow
from aios_kernel import register_agent, register_workflow
from aios_kernel._entities import business_settings, ingest_folder, upsert
from aios_kernel._entities._sources import read_csv, read_email, read_note
from aios_kernel._store import _json

from tests.conftest import DATA

from . import _gen as g

_count = itertools.count()


class Broken(AssertionError):
    """A promise of the boundary did not hold (something written on refusal, an accepted value that does not read back)."""


@dataclass
class Context:
    """One workspace the cases of a target run against."""

    root: Path
    wb: Workbench | None = None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Any:
        assert self.wb is not None
        return self.wb.store

    def verify(self) -> list[str]:
        return [] if self.wb is None else self.wb.verify().problems

    def close(self) -> None:
        if self.wb is not None:
            self.wb.close()
            self.wb = None
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    run: Callable[[Context, Any], str | None]
    """Performs one case; returns "refused" for a documented refusal that is not an exception (a rejected file)."""
    needs_workspace: bool = True

    def context(self) -> Context:
        root = Path(tempfile.mkdtemp(prefix=f"aios-fuzz-{self.name}-"))
        ctx = Context(root)
        if self.needs_workspace:
            wb = Workbench.init(root / "ws")
            cfg = root / "ws" / "aios.toml"
            cfg.write_text(cfg.read_text().replace('generator = "SmolLM2-135M-Instruct"', 'generator = "template"\nrouter = "rules"')
                           + '\n[orchestrator]\nretriever = "keyword"\nmax_wait_s = 1\n')
            wb.close()
            ctx.wb = Workbench.open(root / "ws")
            ctx.wb.memory.recall("warm up")  # the engine's first start is the workspace's cost, not a case's
        return ctx


def refused_writes_nothing(ctx: Context, fn: Callable[[], Any]) -> Any:
    """Run ``fn``; when it raises an AiosError, check that the event log did not move, and re-raise."""
    before = ctx.store.last_seq()
    try:
        return fn()
    except AiosError:
        after = ctx.store.last_seq()
        if after != before:
            raise Broken(f"a refused call wrote {after - before} event(s)") from None
        raise


# -- ids and times -------------------------------------------------------------------------------

def _values_case(ctx: Context, case: tuple[str, Any]) -> None:
    from aios_kernel import _values
    from aios_kernel._ids import iso, parse_iso

    name, value = case
    convert: dict[str, Callable[[Any], Any]] = {
        "time": lambda v: _values.time(v, "t"),
        "duration": lambda v: _values.duration(v, "ttl"),
        "text": lambda v: _values.text(v, "text", max_chars=1000),
        "label": lambda v: _values.label(v, "by"),
        "identifier": lambda v: _values.identifier(v, "id"),
        "meta": lambda v: _values.meta(v),
        "amount": lambda v: _values.amount(v, "amount"),
        "positive_int": lambda v: _values.positive_int(v, "k", maximum=10_000),
        "number": lambda v: _values.number(v, "n", minimum=0),
    }
    out = convert[name](value)
    if name == "time":
        text = iso(out)
        if len(text) != 27 or parse_iso(text) != out:
            raise Broken(f"{out!r} does not round-trip through the store's time format: {text!r}")
    if name == "meta":
        _json.loads(_json.dumps(out))


values_target = Target(
    "ids_times",
    st.tuples(st.sampled_from(["time", "duration", "text", "label", "identifier", "meta", "amount", "positive_int",
                               "number"]), g.hostile),
    _values_case, needs_workspace=False)


# -- the store: JSON and events ---------------------------------------------------------------------

def _store_case(ctx: Context, case: tuple[str, Any, Any, Any]) -> None:
    table, ident, value, actor = case
    column = {"clients": "name", "artifacts": "meta", "ingest_rejections": "error"}[table]
    row = {"id": ident, column: value}
    if table == "artifacts":
        row.update(kind="note", title="t", body="b")
    event = refused_writes_nothing(ctx, lambda: upsert(ctx.store, table, row, actor=actor))
    if event is not None and _json.loads(ctx.store.scalar("SELECT payload FROM events WHERE seq=?", (event.seq,))) is None:
        raise Broken("an accepted event does not read back")


store_target = Target(
    "store_events",
    st.tuples(st.sampled_from(["clients", "artifacts", "ingest_rejections"]),
              g.sometimes(st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12)),
              st.one_of(g.json_values, g.hostile), g.sometimes(st.just("fuzz"), g.texts)),
    _store_case)


# -- memory ----------------------------------------------------------------------------------------

REMEMBER_KEYS = {
    "tier": g.sometimes(st.sampled_from(["session", "working", "long-term", "long_term"])),
    "kind": g.sometimes(st.sampled_from(["note", "fact", "email"])),
    "meta": g.metas,
    "source": g.sometimes(st.sampled_from([None, "file", "email:<a@b>", "agent"])),
    "event_time": g.sometimes(st.none(), g.times),
    "ttl": g.sometimes(st.none(), st.one_of(g.numbers, g.wrong_types)),
    "source_ref": g.sometimes(st.none()),
    "derived_from": g.sometimes(st.just(())),
    "client": g.sometimes(st.none()),
    "project": g.sometimes(st.none()),
    "episode": g.sometimes(st.none()),
    "sensitive": g.sometimes(st.booleans()),
    "actor": g.sometimes(st.none()),
}


@st.composite
def remember_cases(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(REMEMBER_KEYS)), max_size=4, unique=True))
    case = {k: draw(REMEMBER_KEYS[k]) for k in keys}
    case["text"] = draw(g.sometimes(g.words, g.texts))
    return case


def _remember_case(ctx: Context, case: dict[str, Any]) -> None:
    mem = ctx.wb.memory  # type: ignore[union-attr]
    kwargs = dict(case)
    text = kwargs.pop("text")
    ref = refused_writes_nothing(ctx, lambda: mem.remember(text, **kwargs))
    row = mem.get(ref)
    expected = text.decode("utf-8") if isinstance(text, (bytes, bytearray)) else text
    if row["status"] != "active" or row["text"] != expected:
        raise Broken(f"remember returned {ref}, which reads back as {row['status']} {row['text']!r:.60}")
    mem.recall(expected[:200], k=5)  # the catalog takes the new row
    ctx.state.setdefault("refs", []).append(ref.id)


remember_target = Target("memory_remember", remember_cases(), _remember_case)

RECALL_KEYS = {
    "k": g.sometimes(st.integers(1, 20)),
    "tier": g.sometimes(st.sampled_from(["working", ["working", "session"]])),
    "kind": g.sometimes(st.sampled_from(["note", ["note", "fact"]])),
    "where": g.sometimes(st.dictionaries(g.plain_text, g.json_leaf, max_size=2)),
    "since": g.sometimes(g.times), "until": g.sometimes(g.times), "now": g.sometimes(g.times),
    "client": g.sometimes(st.none()), "project": g.sometimes(st.none()),
}


@st.composite
def recall_cases(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(RECALL_KEYS)), max_size=3, unique=True))
    case = {k: draw(RECALL_KEYS[k]) for k in keys}
    case["query"] = draw(g.sometimes(g.words, g.texts))
    return case


def _recall_case(ctx: Context, case: dict[str, Any]) -> None:
    mem = ctx.wb.memory  # type: ignore[union-attr]
    if not ctx.state.get("seeded"):
        mem.remember_many([f"note {i} about the Nordlys invoice and the depot budget" for i in range(20)])
        ctx.state["seeded"] = True
    kwargs = dict(case)
    hits = refused_writes_nothing(ctx, lambda: mem.recall(kwargs.pop("query"), **kwargs))
    if len(hits) > (case.get("k") if isinstance(case.get("k"), int) else 10):
        raise Broken(f"recall returned {len(hits)} hits, more than k")


recall_target = Target("memory_recall", recall_cases(), _recall_case)

CHANGE_OPS = ["update", "forget", "move", "promote", "mark_sensitive", "purge", "get", "history", "audit"]


def _change_case(ctx: Context, case: tuple[str, bool, Any, Any, Any]) -> None:
    op, use_known, bad_id, arg, reason = case
    mem = ctx.wb.memory  # type: ignore[union-attr]
    refs = ctx.state.setdefault("refs", [])
    if len(refs) < 3:
        refs.extend(mem.remember_many([f"change target {next(_count)} about invoices" for _ in range(5)]))
    mid = refs[-1] if use_known else bad_id
    calls: dict[str, Callable[[], Any]] = {
        "update": lambda: mem.update(mid, arg, reason=reason),
        "forget": lambda: mem.forget(mid, reason=reason),
        "move": lambda: mem.move(mid, arg, reason=reason if isinstance(reason, str) else "moved"),
        "promote": lambda: mem.promote(mid, reason=reason if isinstance(reason, str) else "promoted"),
        "mark_sensitive": lambda: mem.mark_sensitive(mid, arg, reason=reason if isinstance(reason, str) else "marked"),
        "purge": lambda: mem.purge(mid, reason=reason),
        "get": lambda: mem.get(mid), "history": lambda: mem.history(mid), "audit": lambda: mem.audit(mid),
    }
    refused_writes_nothing(ctx, calls[op])
    if op in ("forget", "purge") and use_known:
        refs.pop()


change_target = Target(
    "memory_change",
    st.tuples(st.sampled_from(CHANGE_OPS), st.booleans(), g.hostile,
              g.sometimes(st.sampled_from(["a corrected text", "working", "long-term", True, False])),
              g.sometimes(st.just("because"), g.texts)),
    _change_case)


# -- ingest ----------------------------------------------------------------------------------------

def _ingest_case(where: str, reader: Callable[[Path], Any]) -> Callable[[Context, bytes], str | None]:
    def run(ctx: Context, data: bytes) -> str | None:
        folder = ctx.root / f"biz{next(_count)}"
        path = folder / where
        path.parent.mkdir(parents=True)
        for name in ("clients.csv", "projects.csv"):  # so that a well-formed timesheet or e-mail can be ingested
            shutil.copy(DATA / name, folder / name)
        if not ctx.state.get("base"):  # ingested once first: unchanged, they write nothing in the cases
            ingest_folder(ctx.store, folder)
            ctx.state["base"] = True
        path.write_bytes(data)
        try:  # the parser alone: only IngestError (documented) may come out of it
            reader(path)
        except AiosError:
            pass
        before = ctx.store.last_seq()
        report = ingest_folder(ctx.store, folder)  # must never raise: the file is ingested or rejected
        for _, reason in report.rejected:
            if "could not be read (" in reason:  # the guard caught an exception the parsers do not document
                raise RuntimeError(f"ingest rejected a file for an undocumented exception: {reason[:300]}")
        if report.rejected:
            kinds = {e.type for e in ctx.store.events(since_seq=before)}
            if not kinds <= {"rejection.upserted", "rejection.removed"}:
                raise Broken(f"a rejected file wrote {sorted(kinds)}")
        ctx.wb.memory.ingest_artifacts()  # type: ignore[union-attr]
        shutil.rmtree(folder, ignore_errors=True)
        return "refused" if report.rejected else None  # a recorded rejection is the ingest's documented refusal
    return run


email_target = Target("ingest_email", g.emails(), _ingest_case("emails/m.eml", read_email))
csv_target = Target("ingest_csv", g.timesheets(), _ingest_case("timesheets/2026-10.csv",
                                                               lambda p: read_csv(p, ["date", "project", "hours"])))
note_target = Target("ingest_note", g.notes(), _ingest_case("notes/n.md", read_note))
business_target = Target("ingest_business_toml", g.toml_files(), _ingest_case("business.toml", business_settings))


# -- aios.toml ---------------------------------------------------------------------------------------

def _config_case(ctx: Context, data: bytes) -> None:
    from aios_kernel._workspace import Config

    path = ctx.root / f"aios{next(_count)}.toml"
    path.write_bytes(data)
    Config.load(path)


config_target = Target("aios_toml", g.toml_files(), _config_case, needs_workspace=False)


# -- approvals ---------------------------------------------------------------------------------------

PAYLOAD = {"to": ["ingrid@nordlys.no"], "subject": "October invoice", "body": "Hello Ingrid", "count": 3, "ratio": 0.5,
           "flag": True, "note": None}


def _register() -> None:
    register_agent(FunctionAgent("fz.offer", lambda ctx: AgentResult(
        {"payload": dict(PAYLOAD), "title": "send it?"}, evidence=[Evidence("artifact:none", "x", "fuzz")], confidence=0.9)),
        replace=True)
    register_agent(FunctionAgent("fz.options", lambda ctx: AgentResult(
        {"payload": dict(PAYLOAD), "title": "pick one",
         "options": [{"id": "a", "label": "A", "payload": {"text": "A"}}, {"id": "b", "label": "B", "payload": {"text": "B"}}]},
        evidence=[Evidence("artifact:none", "x", "fuzz")])), replace=True)
    register_workflow(Workflow("fz_review", "fuzz: one reviewed action", [Step("do", "fz.offer", action="fz_send")]),
                      replace=True)
    register_workflow(Workflow("fz_options", "fuzz: one action with options", [Step("do", "fz.options", action="fz_pick")]),
                      replace=True)


edit_values = st.one_of(st.just(["felix@brightwater-logistics.de"]), st.just("a new subject"), st.just(4), g.hostile)
edits = st.one_of(st.none(), st.dictionaries(st.sampled_from([*PAYLOAD, "nope", "total"]), edit_values, max_size=2),
                  g.hostile)


def _approval_case(ctx: Context, case: tuple[str, str, Any, Any, Any]) -> None:
    wb = ctx.wb
    assert wb is not None
    if not ctx.state.get("registered"):
        _register()
        wb.config.data["policies"]["actions"]["fz_pick"] = "options"
        ctx.state["registered"] = True
    workflow, method, arg, reason, by = case
    pending = [a for a in wb.approvals.pending(include_deferred=True) if (a.options != []) == (workflow == "fz_options")]
    if not pending:
        wb.run(workflow)
        pending = [a for a in wb.approvals.pending(include_deferred=True) if (a.options != []) == (workflow == "fz_options")]
    approval = pending[0]
    calls: dict[str, Callable[[], Any]] = {
        "approve": lambda: approval.approve(edits=arg, by=by),
        "reject": lambda: approval.reject(reason, by=by),
        "choose": lambda: approval.choose(arg, by=by),
        "defer": lambda: approval.defer(until=arg, reason=reason, by=by),
    }
    refused_writes_nothing(ctx, calls[method])
    if method != "defer":
        wb.run_pending()
        for line in _ledger(ctx):
            to = line["payload"].get("to")
            if to is not None and not (isinstance(to, list) and all(isinstance(a, str) for a in to)):
                raise Broken(f"an effect was applied with to={to!r}")


def _ledger(ctx: Context) -> list[dict[str, Any]]:
    import json

    path = ctx.root / "ws" / "ledger.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


@st.composite
def approval_cases(draw: st.DrawFn) -> tuple[str, str, Any, Any, Any]:
    method = draw(st.sampled_from(["approve", "reject", "choose", "defer"]))
    workflow = draw(st.sampled_from(["fz_review", "fz_options"]))
    arg = {"approve": edits, "reject": st.none(), "choose": g.sometimes(st.sampled_from(["a", "b", "B", "c"])),
           "defer": g.sometimes(st.sampled_from(["2999-01-01T00:00:00Z", "2020-01-01"]), g.times)}[method]
    return (workflow, method, draw(arg), draw(g.sometimes(st.just("not now"), g.texts)),
            draw(g.sometimes(st.just("operator"), g.hostile)))


approval_target = Target("approvals", approval_cases(), _approval_case)


TARGETS = [values_target, store_target, remember_target, recall_target, change_target, email_target, csv_target,
           note_target, business_target, config_target, approval_target]
