"""The Workbench: one open workspace and the parts that work on it.

The store is the truth; a Workbench holds a connection and caches derived
from it, nothing the store does not have. Heavy parts (models, Dask, the
vector index) are created on first use, never at open.

This is the composition root: it builds each layer from the parts that
layer needs (the orchestrator gets the store, settings, records, models and
memory; never the Workbench), and offers the notebook one object.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _entities
from ._errors import ConfigError, WorkspaceError
from ._resources import bundled_data_dir
from ._store import Store, VerifyReport
from ._workspace import Blobs, Config, SecretStore, WorkspacePaths, check_path, create, default_path, harden, private

if TYPE_CHECKING:
    import polars as pl

    from ._connectors import Connectors, SyncReport
    from ._connectors._calendar import CalendarConnector
    from ._entities import IngestReport, Records
    from ._invoices import InvoiceLedger
    from ._memory import Memory
    from ._models import Models
    from ._observability import Narrative
    from ._orchestrator import BackgroundWorker, Orchestrator, Plan, ReplayDiff, ResumeReport, Run, RunList, Workflow
    from ._policy import ApprovalBook
    from ._scheduler import MorningView, PipelineRun, RunComparison, Schedules

@dataclass
class Status:
    """A summary of a workspace: record counts, events, rejections."""

    path: Path
    name: str
    counts: dict[str, int]
    events: int
    schema: dict[str, int]
    rejected: list[tuple[str, str]] = field(default_factory=list)
    connectors: list[dict[str, Any]] = field(default_factory=list)
    """Each connector: kind, target, breaker state, today's calls, failures and last error."""

    def __str__(self) -> str:
        lines = [f"AIOS workspace {self.name!r} at {self.path}", f"  events: {self.events}"]
        lines += [f"  {k}: {v}" for k, v in self.counts.items()]
        lines += [f"  rejected source {p}: {e}" for p, e in self.rejected]
        lines += [f"  connector {c['connector']} ({c['target']}): {_connector_line(c)}" for c in self.connectors]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{v}</td></tr>" for k, v in self.counts.items())
        rej = "".join(f"<li><code>{html.escape(p)}</code>: {html.escape(e)}</li>" for p, e in self.rejected)
        conns = "".join(f"<tr><td>{html.escape(c['connector'])}</td><td>{html.escape(str(c['target']))}</td>"
                        f"<td>{html.escape(_connector_line(c))}</td></tr>" for c in self.connectors)
        return (
            f"<div class='aios-status'><b>AIOS workspace {html.escape(self.name)}</b> "
            f"<span style='opacity:.7'>{html.escape(str(self.path))}</span>"
            f"<table><tr><th>records</th><th>count</th></tr>{rows}"
            f"<tr><td>events</td><td style='text-align:right'>{self.events}</td></tr></table>"
            + (f"<details><summary>{len(self.rejected)} rejected source file(s)</summary><ul>{rej}</ul></details>" if rej else "")
            + (f"<table><tr><th>connector</th><th>target</th><th>state</th></tr>{conns}</table>" if conns else "")
            + "</div>"
        )


def _connector_line(c: dict[str, Any]) -> str:
    state = {"open": "PAUSED after failures", "half_open": "probing"}.get(c.get("state") or "", "ready")
    line = f"{state}, {c.get('calls', 0)} call(s) today, {c.get('failures', 0)} failed"
    if c.get("rate_per_minute"):
        line += f", {c.get('headroom')} call(s) may go now (limit {c['rate_per_minute']:g} a minute)"
    if c.get("price_per_call"):
        line += f", cost today {c.get('cost_today', 0):g}"
    if c.get("last_error"):
        line += f"; last error: {c['last_error'][:160]}"
    return line


class Workbench:
    """An open workspace: settings, store, and (lazily) records, memory, models, the orchestrator and its worker.

    Everything a notebook, the CLI or a widget does goes through here; the
    layers below never see the Workbench, only the parts it hands them.
    """

    def __init__(self, paths: WorkspacePaths, config: Config, store: Store) -> None:
        self.paths = paths
        self.config = config
        self.store = store
        self._parts: dict[str, Any] = {}

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path | None = None, *, create_missing: bool = False) -> Workbench:
        """Open the workspace at ``path`` (default: ``$AIOS_WORKSPACE`` or ``./workspace``)."""
        root = Path(path).expanduser().resolve() if path is not None else default_path()
        check_path(root, must_exist=not create_missing)
        paths = create(root) if create_missing else WorkspacePaths(root)
        config = Config.load(paths.config)
        from . import _components  # noqa: F401  (registers every layer's tables)

        store = Store.open(paths.store)
        harden(paths)
        return cls(paths, config, store)

    @classmethod
    def init(cls, path: str | Path, *, demo: bool = False, data_dir: str | Path | None = None) -> Workbench:
        """Create (or reuse) a workspace; with ``demo`` or ``data_dir``, ingest that business folder."""
        from ._errors import IngestError

        root = Path(path).expanduser().resolve()
        check_path(root, must_exist=False)
        source = Path(data_dir).resolve() if data_dir else (bundled_data_dir() if demo else None)
        settings: dict[str, str] = {}
        tables: dict[str, dict] = {}
        if source is not None:
            if not source.is_dir():
                raise WorkspaceError(f"{source} is not a folder of business data", path=source)
            biz = source / "business.toml"
            if biz.exists() or biz.is_symlink():
                try:
                    business = _entities.business_file(biz)
                except IngestError:
                    business = {}  # the ingest below records why business.toml was rejected
                settings.update({k: str(v) for k, v in business.get("workspace", {}).items()})
                if isinstance(business.get("invoicing"), dict):
                    tables["invoicing"] = business["invoicing"]
            settings["data_dir"] = str(source)
        create(root, settings=settings, tables=tables)
        wb = cls.open(root)
        if source is not None:
            wb.ingest(source)
        return wb

    def close(self) -> None:
        """Stop the worker, close every part, then the store."""
        worker = self._parts.get("worker")
        if worker is not None:
            worker.stop()
        for part in reversed(list(self._parts.values())):
            closer = getattr(part, "close", None)
            if callable(closer):
                closer()
        self._parts.clear()
        self.store.close()

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the parts, made on first use ------------------------------------------------------

    @property
    def records(self) -> Records:
        """Clients, contacts, projects, artifacts and time, read-only.

        ``wb.records("clients")`` lists a table's current rows; ``wb.records.emails()``,
        ``.client(id)``, ``.contact_by_email(addr)`` ... answer the usual questions.
        """
        if "records" not in self._parts:
            self._parts["records"] = _entities.Records(self.store)
        return self._parts["records"]

    @property
    def memory(self) -> Memory:
        """Tiered, versioned memory with retrieval (``wb.memory.recall("...")``), created on first use."""
        if "memory" not in self._parts:
            from ._memory import Memory

            self._parts["memory"] = Memory(self.store, self.paths, self.config, models=lambda: self.models)
        return self._parts["memory"]

    @property
    def models(self) -> Models:
        """Generation and routing through the model tiers (``wb.models.generate([...])``)."""
        if "models" not in self._parts:
            from ._models import Models

            self._parts["models"] = Models(self.store, self.config, templates=self.records.template)
        return self._parts["models"]

    @property
    def orchestrator(self) -> Orchestrator:
        """The task broker, runner, outbox and approvals of this workspace."""
        if "orchestrator" not in self._parts:
            self._parts["orchestrator"] = self._orchestrator_on(self.store, self.records, lambda: self.models)
        return self._parts["orchestrator"]

    def _orchestrator_on(self, store: Store, records: Records, models: Any) -> Orchestrator:
        from ._orchestrator import Orchestrator

        return Orchestrator(store, self.config, self.paths, records=records, models=models, memory=lambda: self.memory,
                            secrets=self.secrets, inbound=lambda messages: self._receive_mail(store, messages))

    def _receive_mail(self, store: Store, messages: list[tuple[str, bytes]]) -> Any:
        """Where mail sync hands what it fetched: e-mail records (the same parser as a folder's .eml), then memory."""
        got = _entities.ingest_messages(store, messages, own_email=str(self.config.get("workspace.email") or ""),
                                        blobs=self.attachments)
        if got.written:
            self._attest_delivery(got.written)
            self.memory.ingest_artifacts(only=got.written)
            self.memory.embed_pending()  # and what connectors attested since (kept unembedded until now)
        return got

    def _attest_delivery(self, artifact_ids: list[str]) -> None:
        """A bounce or delivery report among new mail: what it says about the message we sent, signed in memory."""
        for art in (self.records.artifact(a) for a in artifact_ids):
            report = ((art or {}).get("meta") or {}).get("delivery")
            if not report or not report.get("message_id"):
                continue
            who = ", ".join(r["recipient"] for r in report["recipients"])
            why = "; ".join(f"{r['status']} {r['diagnostic']}".strip() for r in report["recipients"] if r.get("status"))
            self.memory.attest(
                f"The e-mail {report['message_id']} to {who} {report['fact']}" + (f" ({why})" if why else "")
                + f", as the report \u201c{art['title']}\u201d of {art['date']} says",
                fact=report["fact"], source_ref=f"report:{art['id']}", event_time=art["date"] or None,
                meta={"connector": "email", "message_id": report["message_id"], "recipients": report["recipients"]},
                actor="connector:email")

    def sync_mail(self, connector: str = "email", *, limit: int | None = None, batch: int = 100) -> SyncReport:
        """Read the new mail of the connector's inbox (IMAP when configured, else the workspace's Maildir).

        New messages become e-mail records (the parser of a business folder's ``.eml`` files) and
        memory; a malformed one is refused with its reason in ``ingest_rejections``. ``batch``
        messages are held and committed at a time.
        """
        target = self.connectors.get(connector)
        if not hasattr(target, "sync"):
            raise ConfigError(f"connector {connector!r} is a {target.kind} connector: it reads no mail; "
                              "name an e-mail connector", key=f"connectors.{connector}")
        return target.sync(limit=limit, batch=batch)

    @property
    def secrets(self) -> SecretStore:
        """The workspace's credential store (``aios secrets set NAME``): names only, values never shown."""
        if "secrets" not in self._parts:
            self._parts["secrets"] = SecretStore(self.paths)
        return self._parts["secrets"]

    @property
    def attachments(self) -> Blobs:
        """E-mail attachments, stored by SHA-256 (``meta["attachments"]`` of an e-mail record names them)."""
        return Blobs(self.paths.attachments)

    @property
    def connectors(self) -> Connectors:
        """The connectors of this workspace: ``wb.connectors.frame()`` shows each one's target, breaker and calls today."""
        return self.orchestrator.connectors

    @property
    def calendar(self) -> CalendarConnector:
        """The calendar (``[connectors.calendar]``): ``wb.calendar.free_slots(after, count, duration)``, ``busy``, ``event``."""
        return self.connectors.calendar()

    @property
    def invoices(self) -> InvoiceLedger:
        """The invoice ledger: ``wb.invoices.frame()``, ``.list()``, ``.get(number)``, ``.record_payment(...)``,
        ``.match_bank(file)``, ``.void(number, reason=...)``, ``.credit(number, reason=..., issue_date=...)``."""
        if "invoices" not in self._parts:
            from ._invoices import InvoiceLedger, Seller

            settings = (self.config.get("connectors") or {}).get("invoices") or {}
            folder = self.paths.resolve(str(settings.get("folder") or "invoices"))
            self._parts["invoices"] = InvoiceLedger(self.store, folder, Seller.from_config(self.config), root=self.paths.root)
        return self._parts["invoices"]

    @property
    def approvals(self) -> ApprovalBook:
        """Decisions waiting for you: ``wb.approvals.pending()``, then ``a.approve()`` / ``a.reject(reason)``."""
        return self.orchestrator.approvals

    @property
    def worker(self) -> BackgroundWorker:
        """The background worker that carries runs on while a kernel is open (``%load_ext`` starts it).

        It has its own store connection and orchestrator; it shares this
        workbench's memory (one catalog and index per process).
        """
        if "worker" not in self._parts:
            from ._models import Models
            from ._orchestrator import BackgroundWorker

            def make() -> Orchestrator:
                store = Store.open(self.paths.store)
                records = _entities.Records(store)

                @functools.cache
                def models() -> Models:
                    return Models(store, self.config, templates=records.template)

                return self._orchestrator_on(store, records, models)

            poll = float(self.config.get("orchestrator.worker_poll_s", 1.0))
            self._parts["worker"] = BackgroundWorker(make, poll_s=poll)
        return self._parts["worker"]

    # -- records -------------------------------------------------------------------------

    def ingest(self, folder: str | Path | None = None) -> IngestReport:
        """Ingest a business folder (default: the one the workspace was seeded from)."""
        source = folder or self.config.get("workspace.data_dir")
        if not source:
            raise WorkspaceError("no folder to ingest: pass one, or set [workspace] data_dir in aios.toml", path=self.paths.config)
        report = _entities.ingest_folder(self.store, Path(source), blobs=self.attachments)
        self.memory.ingest_artifacts()  # notes, meetings, documents, e-mails become memories (idempotent)
        return report

    def frame(self, table: str) -> pl.DataFrame:
        """One entity table as a polars DataFrame (``.to_pandas()`` for pandas)."""
        import polars as pl

        rows = self.records(table)
        return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()

    def status(self) -> Status:
        return Status(self.paths.root, self.config.get("workspace.name"), self.records.counts(), self.store.last_seq(),
                      self.store.schema_versions(), self.records.rejections(), self.connectors.status())

    # -- maintenance ---------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """The store (integrity, the keyed event chain), the signed memories, and the stored attachments."""
        report = self.store.verify()
        try:
            checked, problems = self.memory.verify_assertions()
        except WorkspaceError as exc:  # the key is not on this machine: say so, it is not a defect of the data
            report.notes.append(f"signed memories not checked: {exc}")
        else:
            report.problems.extend(problems)
            report.notes.append(f"{checked} signed memor{'y' if checked == 1 else 'ies'} checked")
        hashes = {a["sha256"] for art in self.records("artifacts") if art["kind"] == "email"
                  for a in ((art.get("meta") or {}).get("attachments") or []) if a.get("stored") and a.get("sha256")}
        report.problems.extend(p for p in (self.attachments.check(h) for h in sorted(hashes)) if p)
        if hashes:
            report.notes.append(f"{len(hashes)} stored attachment(s) checked against their hashes")
        return report

    def snapshot(self, dest: str | Path | None = None) -> Path:
        from ._ids import utcnow

        target = Path(dest) if dest else self.paths.snapshots / f"store-{utcnow():%Y%m%dT%H%M%S%f}.db"
        return private(self.store.snapshot(target))  # a copy of the clients' records: the owner's alone

    # -- runs ----------------------------------------------------------------------------------

    def submit(self, workflow: str, params: dict[str, Any] | None = None, idempotency_key: str | None = None,
               **kwargs: Any) -> Run:
        """Queue a run of ``workflow`` (``inbox_triage``, ``meeting_followup``, ``invoicing``, ``weekly_content``)."""
        return self.orchestrator.submit(workflow, params, idempotency_key, **kwargs)

    def run(self, workflow: str, params: dict[str, Any] | None = None, idempotency_key: str | None = None,
            **kwargs: Any) -> Run:
        """Submit and run until done or waiting for approval."""
        return self.orchestrator.run(workflow, params, idempotency_key, **kwargs)

    def simulate(self, workflow: str, params: dict[str, Any] | None = None) -> Run:
        """Run ``workflow`` with every side effect proposed, none executed (``run.proposed_effects()``)."""
        return self.orchestrator.run(workflow, params, mode="simulate")

    def run_pending(self, **kwargs: Any) -> int:
        """Run every due task (waits for retries up to ``[orchestrator] max_wait_s``)."""
        return self.orchestrator.run_pending(**kwargs)

    def resume(self) -> ResumeReport:
        """After a crash or decisions: reclaim dead leases, reconcile effects, carry work forward."""
        return self.orchestrator.resume()

    def get_run(self, run_id: str) -> Run:
        return self.orchestrator.get_run(run_id)

    def runs(self, **kwargs: Any) -> RunList:
        """Recent runs, newest first (``limit``, ``status``, ``workflow``)."""
        return self.orchestrator.runs(**kwargs)

    def requeue(self, task_id: str) -> None:
        """Give a dead-lettered task a fresh retry budget."""
        self.orchestrator.requeue(task_id)

    def workflows(self) -> dict[str, Workflow]:
        from ._orchestrator import workflows

        return workflows()

    def plan(self, goal: Any, **params: Any) -> Plan:
        """Map a goal (text, a goal name, or a list) to workflows with filled parameters; ``plan.submit()`` runs them."""
        from ._orchestrator import Planner

        return Planner(self.orchestrator).plan(goal, **params)

    # -- replay --------------------------------------------------------------------------------

    def replay(self, run_id: str, *, from_step: str | int | None = None, allow_side_effects: bool = False) -> Run:
        """Re-run a past run from a checkpoint; effects are simulated unless ``allow_side_effects``."""
        from ._orchestrator import replay_run

        return replay_run(self.orchestrator, run_id, from_step=from_step, allow_side_effects=allow_side_effects)

    def replay_steps(self, step: str, fn: Any, *, workflow: str | None = None) -> ReplayDiff:
        """Recorded ``step`` checkpoints recomputed by ``fn`` (an agent or a function): what would change."""
        from ._orchestrator import replay_steps

        return replay_steps(self.orchestrator, step, fn, workflow=workflow)

    def replay_events(self, event_types: str | list[str], fn: Any) -> ReplayDiff:
        """Recorded events' payloads passed through ``fn``: what would change."""
        from ._orchestrator import replay_events

        return replay_events(self.store, event_types, fn)

    # -- traces and costs ------------------------------------------------------------------------

    def trace(self, run_id: str) -> pl.DataFrame:
        """Every span of a run (run, tasks, steps, model and connector calls) as a polars DataFrame."""
        from ._observability import trace

        return trace(self.store, run_id)

    def costs(self, by: str = "workflow") -> pl.DataFrame:
        """Model spending by ``"workflow"`` or ``"day"`` (also ``"run"``, ``"agent"``, ``"tier"``)."""
        from ._observability import costs

        return costs(self.store, by)

    def narrative(self, run_id: str) -> Narrative:
        """A run's business events as sentences: who, what, why, evidence."""
        from ._observability import narrative

        return narrative(self.store, run_id)

    def timeline(self, run_id: str, path: str | Path | None = None) -> Any:
        """A static matplotlib timeline of a run."""
        from ._observability import timeline

        return timeline(self.store, run_id, path=path)

    def export_otel(self, run_id: str, path: str | Path | None = None) -> dict[str, Any]:
        """A run's spans as OpenTelemetry OTLP/JSON (written to ``path`` if given)."""
        from ._observability import export_otel

        return export_otel(self.store, run_id, path)

    # -- display -------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<Workbench {self.config.get('workspace.name')!r} at {self.paths.root}>"

    def _repr_html_(self) -> str:
        return self.status()._repr_html_()

    # -- schedules and pipeline runs -----------------------------------------------------

    @property
    def schedules(self) -> Schedules:
        """The schedules of this workspace (``[schedule.*]`` of aios.toml copied in on first use): ``.list()``, ``.frame()``,
        ``.add(name, notebook, cron, timezone=...)``, ``.pause(name)``, ``.resume(name)``, ``.remove(name)``."""
        if "schedules" not in self._parts:
            from ._resources import notebooks_dir
            from ._scheduler import Schedules

            book = Schedules(self.store, notebooks_dir=notebooks_dir(), default_timezone=self.config.get("workspace.timezone", "UTC"))
            book.sync(self.config.get("schedule") or {}, config_path=self.config.path)
            self._parts["schedules"] = book
        return self._parts["schedules"]

    def pipeline_runs(self, schedule: str | None = None, *, status: str | None = None, limit: int | None = None,
                      include_skipped: bool = True) -> pl.DataFrame:
        """Headless notebook runs, newest first, as a polars DataFrame (status, times, duration, cell i of n while
        running, error, workflow runs, approvals, effects, cost, links to the executed notebook and its HTML)."""
        from ._scheduler import PipelineRuns

        return PipelineRuns(self.store).frame(schedule=schedule, status=status, limit=limit, include_skipped=include_skipped)

    def pipeline_run(self, run_id: str) -> PipelineRun:
        """One pipeline run with everything recorded about it."""
        from ._scheduler import PipelineRuns

        return PipelineRuns(self.store).get(run_id)

    def compare_pipeline_runs(self, a: str | None = None, b: str | None = None, *, schedule: str | None = None) -> RunComparison:
        """Two runs side by side (default: the last two finished runs of ``schedule``): parameters, durations, changed outputs."""
        from ._errors import ValidationError
        from ._scheduler import PipelineRuns, compare

        runs = PipelineRuns(self.store)
        if a and b:
            return compare(runs.get(a), runs.get(b))
        if not schedule:
            raise ValidationError("name two runs (a=..., b=...) or a schedule (schedule=...)", field="schedule")
        done = [r for r in runs.list(schedule=schedule, include_skipped=False) if r.done]
        if len(done) < 2:
            raise ValidationError(f"schedule {schedule!r} has {len(done)} finished run(s); a comparison needs two", field="schedule")
        return compare(done[1], done[0])

    def morning(self, since: str | None = None) -> MorningView:
        """What the night's runs proposed, what was decided since (default: the last 24 hours), and what went out."""
        from ._scheduler import morning_view

        return morning_view(self, since)


_CURRENT: list[Workbench] = []


def current() -> Workbench | None:
    """The workbench this process works on by default (the one ``%load_ext aios_kernel`` opened), or None."""
    return _CURRENT[0] if _CURRENT else None


def set_current(wb: Workbench | None) -> None:
    """Make ``wb`` the default workbench of this process (``None``: there is none)."""
    _CURRENT[:] = [wb] if wb is not None else []
