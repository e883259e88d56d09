"""The Workbench: one open workspace and the parts that work on it.

The store is the truth; a Workbench holds a connection and caches derived
from it, nothing the store does not have. Heavy parts (models, Dask, the
vector index) are created on first use, never at open.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _entities
from ._errors import WorkspaceError
from ._resources import bundled_data_dir
from ._orchestrator._facade import ExecutionMixin
from ._store import Store, VerifyReport
from ._workspace import Config, WorkspacePaths, check_path, create, default_path

if TYPE_CHECKING:
    import polars as pl

    from ._entities import IngestReport
    from ._memory import Memory
    from ._scheduler import MorningView, PipelineRun, RunComparison, Schedules

ENTITY_TABLES = ("clients", "contacts", "projects", "artifacts", "deliverables", "tasks", "time_entries", "rates")


@dataclass
class Status:
    """A summary of a workspace: record counts, events, rejections."""

    path: Path
    name: str
    counts: dict[str, int]
    events: int
    schema: dict[str, int]
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"AIOS workspace {self.name!r} at {self.path}", f"  events: {self.events}"]
        lines += [f"  {k}: {v}" for k, v in self.counts.items()]
        lines += [f"  rejected source {p}: {e}" for p, e in self.rejected]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{v}</td></tr>" for k, v in self.counts.items())
        rej = "".join(f"<li><code>{html.escape(p)}</code>: {html.escape(e)}</li>" for p, e in self.rejected)
        return (
            f"<div class='aios-status'><b>AIOS workspace {html.escape(self.name)}</b> "
            f"<span style='opacity:.7'>{html.escape(str(self.path))}</span>"
            f"<table><tr><th>records</th><th>count</th></tr>{rows}"
            f"<tr><td>events</td><td style='text-align:right'>{self.events}</td></tr></table>"
            + (f"<details><summary>{len(self.rejected)} rejected source file(s)</summary><ul>{rej}</ul></details>" if rej else "")
            + "</div>"
        )


class Workbench(ExecutionMixin):
    """An open workspace: settings, store, and (lazily) memory, models and orchestrator."""

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
        return cls(paths, config, store)

    @classmethod
    def init(cls, path: str | Path, *, demo: bool = False, data_dir: str | Path | None = None) -> Workbench:
        """Create (or reuse) a workspace; with ``demo`` or ``data_dir``, ingest that business folder."""
        import tomllib

        root = Path(path).expanduser().resolve()
        check_path(root, must_exist=False)
        source = Path(data_dir).resolve() if data_dir else (bundled_data_dir() if demo else None)
        settings: dict[str, str] = {}
        if source is not None:
            if not source.is_dir():
                raise WorkspaceError(f"{source} is not a folder of business data", path=source)
            biz = source / "business.toml"
            if biz.exists():
                settings.update({k: str(v) for k, v in tomllib.loads(biz.read_text(encoding="utf-8")).get("workspace", {}).items()})
            settings["data_dir"] = str(source)
        create(root, settings=settings)
        wb = cls.open(root)
        if source is not None:
            wb.ingest(source)
        return wb

    def close(self) -> None:
        """Close every part, then the store."""
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

    # -- memory --------------------------------------------------------------------------

    @property
    def memory(self) -> Memory:
        """Tiered, versioned memory with retrieval (``wb.memory.recall("...")``), created on first use."""
        if "memory" not in self._parts:
            from ._memory import Memory

            self._parts["memory"] = Memory(self.store, self.paths, self.config, models=lambda: self.models)
        return self._parts["memory"]

    # -- records -------------------------------------------------------------------------

    def ingest(self, folder: str | Path | None = None) -> IngestReport:
        """Ingest a business folder (default: the one the workspace was seeded from)."""
        source = folder or self.config.get("workspace.data_dir")
        if not source:
            raise WorkspaceError("no folder to ingest: pass one, or set [workspace] data_dir in aios.toml", path=self.paths.config)
        report = _entities.ingest_folder(self.store, Path(source))
        self.memory.ingest_artifacts()  # notes, meetings, documents, e-mails become memories (idempotent)
        return report

    def records(self, table: str) -> list[dict[str, Any]]:
        """Current rows of one entity table (``clients``, ``projects``, ``artifacts`` ...)."""
        return _entities.rows(self.store, table)

    def frame(self, table: str) -> pl.DataFrame:
        """One entity table as a polars DataFrame (``.to_pandas()`` for pandas)."""
        import polars as pl

        rows = self.records(table)
        return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()

    def status(self) -> Status:
        counts = {t: int(self.store.scalar(f"SELECT count(*) FROM {t}")) for t in ENTITY_TABLES}
        rejected = [(r["source_path"], r["error"]) for r in _entities.rows(self.store, "ingest_rejections")]
        return Status(self.paths.root, self.config.get("workspace.name"), counts, self.store.last_seq(),
                      self.store.schema_versions(), rejected)

    # -- maintenance ---------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        return self.store.verify()

    def snapshot(self, dest: str | Path | None = None) -> Path:
        from ._ids import utcnow

        target = Path(dest) if dest else self.paths.snapshots / f"store-{utcnow():%Y%m%dT%H%M%S%f}.db"
        return self.store.snapshot(target)

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
