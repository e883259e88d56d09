"""Pipeline runs in the store: claiming ticks, attempts, endings, progress and recovery.

Every change is one transaction (``Store.atomic``: ``BEGIN IMMEDIATE``), and
each reads the state it changes inside that transaction. That is the lock:
two schedulers deciding the same schedule at once are serialised by SQLite's
write lock, and the second finds the ticks already decided (the schedule's
``evaluated_through`` moved, and every tick's key is unique). An attempt
starts only from ``pending`` (or from ``running`` when the process that ran
it is dead), and a run ends only once: whoever records the end first wins,
the others are told so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._errors import NotFoundError, ValidationError
from .._ids import iso, new_id
from . import _owner
from ._decide import decide
from ._model import FINAL, Schedule
from ._schedules import ScheduleState

if TYPE_CHECKING:
    import polars as pl

    from .._store import Store

_JSON = ("parameters", "attempts", "outputs", "workflow_runs", "approvals", "effects", "cost", "resumed")


@dataclass
class PipelineRun:
    """One run of a notebook: a tick of a schedule or a manual run."""

    id: str
    schedule: str | None
    notebook: str
    status: str
    trigger: str
    scheduled_for: str | None = None
    tick_key: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    attempt: int = 0
    max_attempts: int = 1
    timeout_s: float = 3600.0
    resume: bool = True
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    folder: str | None = None
    executed: str | None = None
    html: str | None = None
    error: str | None = None
    error_cell: int | None = None
    cells: int | None = None
    owner: str | None = None
    executor: str | None = None
    cancel_requested: bool = False
    attempts: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    workflow_runs: list[str] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    cost: dict[str, Any] = field(default_factory=dict)
    resumed: dict[str, Any] = field(default_factory=dict)
    progress: tuple[int, int] | None = None
    """(cell, cells) while running: code cell ``cell`` of ``cells`` is executing."""

    @property
    def done(self) -> bool:
        return self.status in FINAL

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        d = asdict(self)
        d["progress"] = list(self.progress) if self.progress else None
        return d

    def __repr__(self) -> str:
        where = f" cell {self.progress[0]}/{self.progress[1]}" if self.progress else ""
        return f"<PipelineRun {self.id} {self.schedule or self.notebook} {self.status}{where}>"

    def _repr_html_(self) -> str:
        import html

        link = f" <a href='{html.escape(self.html)}'>report</a>" if self.html else ""
        err = f"<br><code>{html.escape(self.error or '')}</code>" if self.error else ""
        return (f"<div><b>{html.escape(self.schedule or self.notebook)}</b> {html.escape(self.status)} "
                f"(run {html.escape(self.id)}, attempt {self.attempt}){link}{err}</div>")


def _run(row: Any, progress: Any = None) -> PipelineRun:
    d = dict(row)
    for k in _JSON:
        d[k] = json.loads(d[k]) if d.get(k) else ({} if k in ("parameters", "outputs", "cost", "resumed") else [])
    d["resume"] = bool(d["resume"])
    d["cancel_requested"] = bool(d["cancel_requested"])
    for k in ("scheduled_utc", "event_seq"):
        d.pop(k, None)
    run = PipelineRun(**d)
    if progress is not None and run.status == "running":
        run.progress = (int(progress["cell"]), int(progress["cells"]))
    return run


@dataclass
class Claimed:
    """What one decision wrote: runs to start, ticks queued, ticks skipped, runs asked to cancel."""

    pending: list[PipelineRun] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    unlisted: int = 0


class PipelineRuns:
    """The pipeline runs of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading ---------------------------------------------------------------------------

    def get(self, run_id: str) -> PipelineRun:
        row = self.store.one("SELECT * FROM pipeline_runs WHERE id=?", (run_id,))
        if row is None:
            raise NotFoundError(f"no pipeline run {run_id!r}; `aios pipeline runs` lists them", id=run_id)
        return _run(row, self.store.one("SELECT cell, cells FROM pipeline_progress WHERE run_id=?", (run_id,)))

    def list(self, *, schedule: str | None = None, status: str | None = None, limit: int | None = None,
             include_skipped: bool = True) -> list[PipelineRun]:
        """Runs, newest scheduled (or created) first."""
        clauses, params = [], []
        if schedule is not None:
            clauses.append("schedule = ?")
            params.append(schedule)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if not include_skipped:
            clauses.append("status != 'skipped'")
        sql = ("SELECT * FROM pipeline_runs" + (" WHERE " + " AND ".join(clauses) if clauses else "")
               + " ORDER BY coalesce(scheduled_utc, created_at) DESC, created_at DESC"
               + (f" LIMIT {int(limit)}" if limit else ""))
        progress = {r["run_id"]: r for r in self.store.query("SELECT run_id, cell, cells FROM pipeline_progress")}
        return [_run(r, progress.get(r["id"])) for r in self.store.query(sql, tuple(params))]

    def frame(self, **kwargs: Any) -> pl.DataFrame:
        """The runs as a polars DataFrame (one row per run; durations in seconds, costs and counts flattened)."""
        import polars as pl

        rows = []
        for r in self.list(**kwargs):
            rows.append({
                "id": r.id, "schedule": r.schedule, "notebook": r.notebook, "status": r.status, "trigger": r.trigger,
                "scheduled_for": r.scheduled_for, "started_at": r.started_at, "ended_at": r.ended_at,
                "duration_s": r.duration_s, "attempt": r.attempt, "cell": r.progress[0] if r.progress else None,
                "cells": r.progress[1] if r.progress else r.cells, "error": r.error, "reason": r.reason,
                "workflow_runs": len(r.workflow_runs), "approvals": len(r.approvals),
                "effects": sum(1 for e in r.effects if e.get("status") == "applied"),
                "model_calls": int(r.cost.get("calls", 0) or 0), "tokens": int(r.cost.get("tokens", 0) or 0),
                "cost": float(r.cost.get("money", 0.0) or 0.0), "cpu_s": float(r.cost.get("cpu_s", 0.0) or 0.0),
                "executed": r.executed, "html": r.html, "parameters": json.dumps(r.parameters, sort_keys=True),
            })
        schema = {"id": pl.String, "schedule": pl.String, "notebook": pl.String, "status": pl.String, "trigger": pl.String,
                  "scheduled_for": pl.String, "started_at": pl.String, "ended_at": pl.String, "duration_s": pl.Float64,
                  "attempt": pl.Int64, "cell": pl.Int64, "cells": pl.Int64, "error": pl.String, "reason": pl.String,
                  "workflow_runs": pl.Int64, "approvals": pl.Int64, "effects": pl.Int64, "model_calls": pl.Int64,
                  "tokens": pl.Int64, "cost": pl.Float64, "cpu_s": pl.Float64, "executed": pl.String, "html": pl.String,
                  "parameters": pl.String}
        return pl.DataFrame(rows, schema=schema)

    def active(self, schedule: str) -> list[PipelineRun]:
        return [_run(r) for r in self.store.query(
            "SELECT * FROM pipeline_runs WHERE schedule=? AND status IN ('pending','running')", (schedule,))]

    # -- claiming ----------------------------------------------------------------------------

    def claim_due(self, state: ScheduleState, now: datetime, *, owner: str | None = None) -> Claimed:
        """Decide ``state``'s ticks up to ``now`` and record the outcome, in one transaction (see the module doc)."""
        owner = owner or _owner.me()
        out = Claimed()
        name = state.name
        with self.store.atomic():
            row = self.store.one("SELECT definition, paused, evaluated_through, source FROM schedules WHERE name=?", (name,))
            if row is None or row["paused"]:
                return out
            from ._model import validate_schedule

            s = validate_schedule(name, json.loads(row["definition"]), source=row["source"])
            if not s.enabled:
                return out
            through = datetime.fromisoformat(row["evaluated_through"]) if row["evaluated_through"] else None
            d = decide(s, through, now)
            if d.through is not None and through is not None and d.through <= through:
                return out
            for t, reason in d.skipped:
                rid = self._claim(s, t, "skipped", reason, "catch_up", owner)
                if rid:
                    out.skipped.append(rid)
            active = self.active(name)
            runs = d.run
            if runs and active and s.overlap != "allow":
                blocking = ", ".join(r.id for r in active)
                if s.overlap == "skip":
                    for t, trig in runs:
                        rid = self._claim(s, t, "skipped", f"overlap: run {blocking} was still going (overlap = skip)", trig, owner)
                        out.skipped.extend([rid] if rid else [])
                    runs = []
                elif s.overlap == "buffer_one":
                    has_queued = self.store.scalar("SELECT count(*) FROM pipeline_runs WHERE schedule=? AND status='queued'",
                                                   (name,))
                    keep = [] if has_queued else runs[-1:]
                    for t, trig in runs:
                        if (t, trig) in keep:
                            rid = self._claim(s, t, "queued", f"waiting for run {blocking} to end (overlap = buffer_one)",
                                              trig, owner)
                            out.queued.extend([rid] if rid else [])
                        else:
                            rid = self._claim(s, t, "skipped", f"overlap: run {blocking} was still going and one tick is "
                                              "already queued (overlap = buffer_one)", trig, owner)
                            out.skipped.extend([rid] if rid else [])
                    runs = []
                else:  # cancel_other
                    for r in active:
                        self.store.emit("pipeline.cancel_requested", f"pipeline_run:{r.id}",
                                        {"id": r.id, "reason": f"cancelled: a later tick came due (overlap = cancel_other)"},
                                        actor="scheduler")
                        out.cancelled.append(r.id)
            for t, trig in runs:
                rid = self._claim(s, t, "pending", None, trig, owner)
                if rid:
                    out.pending.append(self.get(rid))
            out.unlisted = d.unlisted
            if through is not None and not (d.run or d.skipped or d.unlisted):
                return out  # nothing came due: the window simply grows, and the log gets no event per poll
            self.store.emit("schedule.evaluated", f"schedule:{name}",
                            {"name": name, "through": d.through.isoformat() if d.through else None, "now": now.isoformat(),
                             "run": len(out.pending) + len(out.queued), "skipped": len(out.skipped), "unlisted": d.unlisted},
                            actor="scheduler")
        return out

    def _claim(self, s: Schedule, t: datetime, status: str, reason: str | None, trigger: str, owner: str) -> str | None:
        utc = t.astimezone(UTC)
        key = f"{s.name}@{utc.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        if self.store.one("SELECT 1 FROM pipeline_runs WHERE tick_key=?", (key,)) is not None:
            return None  # decided before (by this or another scheduler): a tick is claimed once
        rid = new_id("pr")
        self.store.emit("pipeline.run_claimed", f"pipeline_run:{rid}", {
            "id": rid, "schedule": s.name, "tick_key": key, "scheduled_for": t.isoformat(), "scheduled_utc": iso(utc),
            "notebook": s.notebook, "parameters": s.parameters, "status": status, "reason": reason, "trigger": trigger,
            "owner": owner, "max_attempts": 1 + s.retries, "timeout_s": s.timeout_s, "resume": s.resume,
        }, actor="scheduler")
        return rid

    def claim_queued(self, *, owner: str | None = None) -> list[PipelineRun]:
        """Queued ticks whose schedule has nothing going any more become pending (oldest first)."""
        owner = owner or _owner.me()
        out: list[PipelineRun] = []
        with self.store.atomic():
            for r in self.store.query("SELECT id, schedule FROM pipeline_runs WHERE status='queued' ORDER BY scheduled_utc"):
                if self.active(r["schedule"]):
                    continue
                self.store.emit("pipeline.run_adopted", f"pipeline_run:{r['id']}", {"id": r["id"], "owner": owner,
                                                                                   "status": "pending"}, actor="scheduler")
                out.append(self.get(r["id"]))
        return out

    def claim_manual(self, notebook: str, parameters: dict[str, Any], *, schedule: Schedule | None = None,
                     timeout_s: float | None = None, retries: int | None = None, resume: bool | None = None,
                     owner: str | None = None, now: datetime | None = None) -> PipelineRun:
        """A run started by hand (``aios pipeline run``): pending, owned by the caller."""
        if timeout_s is not None and not (timeout_s > 0):
            raise ValidationError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}", field="timeout_s")
        if retries is not None and retries < 0:
            raise ValidationError(f"retries must be a whole number from 0, got {retries!r}", field="retries")
        rid = new_id("pr")
        now = (now or datetime.now(UTC)).astimezone(UTC)
        tz = schedule.spec.zone if schedule else UTC
        self.store.emit("pipeline.run_claimed", f"pipeline_run:{rid}", {
            "id": rid, "schedule": schedule.name if schedule else None, "tick_key": None,
            "scheduled_for": now.astimezone(tz).isoformat(), "scheduled_utc": iso(now), "notebook": notebook,
            "parameters": parameters, "status": "pending", "reason": None, "trigger": "manual", "owner": owner or _owner.me(),
            "max_attempts": 1 + (retries if retries is not None else (schedule.retries if schedule else 0)),
            "timeout_s": timeout_s or (schedule.timeout_s if schedule else 3600.0),
            "resume": resume if resume is not None else (schedule.resume if schedule else True),
        }, actor="operator")
        return self.get(rid)

    # -- attempts ----------------------------------------------------------------------------

    def start_attempt(self, run_id: str, *, executor: str | None = None, folder: str | None = None,
                      owner: str | None = None) -> int | None:
        """Begin the next attempt; ``None`` when the run is not this caller's to start (ended, or running elsewhere)."""
        executor = executor or _owner.me()
        with self.store.atomic():
            r = self.get(run_id)
            if r.status == "running":
                if _owner.alive(r.executor) is not False:
                    return None  # another process is running it
                # its executor died mid-attempt (a Dask worker killed): take over, after clearing what it left
                child, kernels = self.processes(run_id)
                for pid in [child, *kernels]:
                    _owner.kill_group(pid)
                self.store.emit("pipeline.attempt_failed", f"pipeline_run:{run_id}",
                                {"id": run_id, "attempt": r.attempt, "status": "crashed", "folder": r.folder, "at": iso(),
                                 "error": f"the process running it ({r.executor}) died; taken over by {executor}"},
                                actor="scheduler")
            elif r.status != "pending":
                return None
            if r.cancel_requested:
                self._end(r, "cancelled", {"error": r.reason or "cancelled before it started"})
                return None
            attempt = r.attempt + 1
            self.store.emit("pipeline.run_started", f"pipeline_run:{run_id}",
                            {"id": run_id, "attempt": attempt, "executor": executor, "owner": owner, "folder": folder},
                            actor="scheduler")
            self.store.conn.execute(
                "INSERT INTO pipeline_progress(run_id, attempt, cell, cells, updated_at) VALUES (?,?,0,0,?) ON CONFLICT(run_id)"
                " DO UPDATE SET attempt=excluded.attempt, cell=0, child_pid=NULL, kernel_pids='[]', updated_at=excluded.updated_at",
                (run_id, attempt, iso()))
        return attempt

    def attempt_failed(self, run_id: str, attempt: int, status: str, error: str | None, folder: str | None = None) -> bool:
        """Record a failed attempt that will be retried (the run goes back to pending)."""
        with self.store.atomic():
            r = self.get(run_id)
            if r.status != "running" or r.attempt != attempt:
                return False
            self.store.emit("pipeline.attempt_failed", f"pipeline_run:{run_id}",
                            {"id": run_id, "attempt": attempt, "status": status, "error": error, "folder": folder, "at": iso()},
                            actor="scheduler")
        return True

    def end(self, run_id: str, status: str, *, attempt: int | None = None, **fields: Any) -> bool:
        """Record the end of a run once; False when it had already ended (or another attempt owns it)."""
        if status not in FINAL:
            raise ValidationError(f"status must be one of {', '.join(sorted(FINAL))}, got {status!r}", field="status")
        with self.store.atomic():
            r = self.get(run_id)
            if r.done or (attempt is not None and r.attempt != attempt):
                return False
            self._end(r, status, fields)
        return True

    def _end(self, r: PipelineRun, status: str, fields: dict[str, Any]) -> None:
        started = datetime.fromisoformat(r.started_at.replace("Z", "+00:00")) if r.started_at else None
        duration = (datetime.now(UTC) - started).total_seconds() if started else None
        self.store.emit("pipeline.run_ended", f"pipeline_run:{r.id}",
                        {"id": r.id, "status": status, "duration_s": fields.pop("duration_s", duration), **fields},
                        actor="scheduler")

    def request_cancel(self, run_id: str, reason: str = "cancelled by the operator") -> PipelineRun:
        with self.store.atomic():
            r = self.get(run_id)
            if r.done:
                return r
            if r.status in ("queued", "pending"):
                self._end(r, "cancelled", {"error": reason})
            else:
                self.store.emit("pipeline.cancel_requested", f"pipeline_run:{run_id}", {"id": run_id, "reason": reason},
                                actor="operator")
        return self.get(run_id)

    # -- liveness ----------------------------------------------------------------------------

    def progress(self, run_id: str, *, cell: int | None = None, cells: int | None = None, child_pid: int | None = None,
                 kernel_pids: list[int] | None = None) -> None:
        """Where a running attempt is (plain row, not an event: it changes every cell)."""
        sets, params = ["updated_at=?"], [iso()]
        for col, val in (("cell", cell), ("cells", cells), ("child_pid", child_pid)):
            if val is not None:
                sets.append(f"{col}=?")
                params.append(val)
        if kernel_pids is not None:
            sets.append("kernel_pids=?")
            params.append(json.dumps(kernel_pids))
        with self.store.atomic() as c:
            c.execute(f"UPDATE pipeline_progress SET {', '.join(sets)} WHERE run_id=?", (*params, run_id))

    def processes(self, run_id: str) -> tuple[int | None, list[int]]:
        """The child process and kernel pids of a running attempt."""
        row = self.store.one("SELECT child_pid, kernel_pids FROM pipeline_progress WHERE run_id=?", (run_id,))
        return (row["child_pid"], json.loads(row["kernel_pids"])) if row else (None, [])

    def recover(self) -> list[str]:
        """Runs left ``running`` by processes that died: kill what they left, record ``crashed``; adopt orphaned pending runs.

        A run executed elsewhere (a Dask worker) whose executor died while its owner lives is left to the
        owner, which retries it; only when neither lives is it crashed.
        """
        crashed: list[str] = []
        for r in self.list(status="running"):
            if _owner.alive(r.executor) is not False:
                continue
            if r.owner != r.executor and _owner.alive(r.owner) is not False:
                continue
            child, kernels = self.processes(r.id)
            for pid in [child, *kernels]:
                _owner.kill_group(pid)
            where = f" at cell {r.progress[0]} of {r.progress[1]}" if r.progress and r.progress[1] else ""
            if self.end(r.id, "crashed", attempt=r.attempt, error=f"the process running it ({r.executor}) died{where}; "
                        "found by the next scheduler start", folder=r.folder):
                crashed.append(r.id)
        return crashed

    def orphans(self, *, owner: str | None = None) -> list[PipelineRun]:
        """Pending runs whose owner died before starting them, adopted by ``owner`` (they never ran: nothing is doubled)."""
        owner = owner or _owner.me()
        out: list[PipelineRun] = []
        with self.store.atomic():
            for r in self.list(status="pending"):
                if r.owner != owner and _owner.alive(r.owner) is False:
                    self.store.emit("pipeline.run_adopted", f"pipeline_run:{r.id}", {"id": r.id, "owner": owner,
                                                                                    "status": "pending"}, actor="scheduler")
                    out.append(self.get(r.id))
        return out
