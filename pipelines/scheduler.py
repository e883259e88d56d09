"""The scheduler: ``run_due`` (once, for cron or a systemd timer), ``serve`` (a loop), ``install``, and manual runs.

Every scheduler start first records as ``crashed`` the runs whose process died
(and kills what they left), adopts pending runs whose owner died before
starting them, and copies ``[schedule.*]`` of ``aios.toml`` into the store. It
then decides each schedule's ticks (one transaction per schedule: see
``aios_kernel._scheduler._runs``) and executes what it claimed: here, one run
after another per schedule and schedules side by side, or, with ``[dask]
address``, as tasks on that ``dask.distributed`` scheduler.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aios_kernel._errors import ConfigError
from aios_kernel._resources import notebooks_dir
from aios_kernel._scheduler import (Clock, PipelineRun, PipelineRuns, Schedules, SystemClock, check_parameters, me,
                                    resolve_notebook)
from ._execute import Progress, execute


@dataclass
class DueReport:
    """What one ``run_due`` did."""

    now: datetime
    crashed: list[str] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    runs: list[PipelineRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"run-due at {self.now.isoformat()}: {len(self.runs)} run(s), {len(self.skipped)} tick(s) skipped, "
               f"{len(self.queued)} queued, {len(self.cancelled)} cancelled, {len(self.crashed)} crashed run(s) found"]
        out += [f"  config: {c}" for c in self.synced]
        for r in self.runs:
            out.append(f"  {r.schedule or r.notebook} {r.scheduled_for}: {r.status}"
                       + (f" ({r.error})" if r.error else "") + (f" -> {r.html}" if r.html else ""))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def schedules_of(wb: Any) -> Schedules:
    return Schedules(wb.store, notebooks_dir=notebooks_dir(), default_timezone=wb.config.get("workspace.timezone", "UTC"))


def prepare(wb: Any) -> tuple[list[str], list[str]]:
    """Crash recovery and ``aios.toml`` sync: what every scheduler start does first."""
    runs = PipelineRuns(wb.store)
    crashed = runs.recover()
    synced = schedules_of(wb).sync(wb.config.get("schedule") or {}, config_path=wb.config.path)
    return crashed, synced


def claim(wb: Any, now: datetime, *, owner: str) -> tuple[list[PipelineRun], DueReport]:
    report = DueReport(now)
    report.crashed, report.synced = prepare(wb)
    runs = PipelineRuns(wb.store)
    pending: list[PipelineRun] = list(runs.orphans(owner=owner))
    for st in schedules_of(wb).list():
        c = runs.claim_due(st, now, owner=owner)
        pending += c.pending
        report.skipped += c.skipped
        report.queued += c.queued
        report.cancelled += c.cancelled
    pending += runs.claim_queued(owner=owner)
    return pending, report


def execute_all(wb: Any, pending: list[PipelineRun], *, owner: str, on_progress: Progress | None = None) -> list[PipelineRun]:
    """Run ``pending``: locally (one after another per schedule, schedules side by side) or on Dask."""
    if not pending:
        return []
    address = wb.config.get("dask.address") or ""
    root = str(wb.paths.root)
    if address:
        return _on_dask(wb, address, pending, owner=owner)
    groups: dict[str, list[PipelineRun]] = {}
    for r in pending:
        groups.setdefault(r.schedule or r.id, []).append(r)

    def one_schedule(rs: list[PipelineRun]) -> list[PipelineRun]:
        return [execute(root, r.id, owner=owner, on_progress=on_progress) for r in rs]

    if len(groups) == 1:
        return one_schedule(next(iter(groups.values())))
    with ThreadPoolExecutor(max_workers=min(4, len(groups)), thread_name_prefix="aios-pipeline") as pool:
        futures = [pool.submit(one_schedule, rs) for rs in groups.values()]
        return [r for f in futures for r in f.result()]


def _on_dask(wb: Any, address: str, pending: list[PipelineRun], *, owner: str) -> list[PipelineRun]:
    from distributed import Client, wait

    runs = PipelineRuns(wb.store)
    root = str(wb.paths.root)
    try:
        client = Client(address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"[dask] address {address!r} does not answer ({exc}); start that scheduler or empty the address "
                          f"to run locally. The {len(pending)} claimed run(s) stay pending: the next scheduler start runs them",
                          path=wb.config.path, key="dask.address") from exc
    with client:
        futures = [client.submit(execute_on_worker, root, r.id, owner, key=f"aios-pipeline-{r.id}", pure=False, retries=0)
                   for r in pending]
        wait(futures)
    out = []
    for r in pending:
        final = runs.get(r.id)
        if not final.done:  # Dask gave up on it (workers kept dying): recorded, never left running
            runs.end(r.id, "crashed", error="the Dask workers running it died; Dask gave up rescheduling it")
            final = runs.get(r.id)
        out.append(final)
    return out


def execute_on_worker(workspace: str, run_id: str, owner: str) -> str:
    """The task a Dask worker runs: the attempts of one run (a rescheduled task takes over from a dead worker)."""
    return execute(workspace, run_id, owner=owner).status


def run_due(wb: Any, now: datetime | None = None, *, on_progress: Progress | None = None) -> DueReport:
    """Run what is due at ``now`` (default: the clock) under each schedule's policies; returns when those runs ended."""
    now = now or datetime.now(UTC)
    owner = me()
    pending, report = claim(wb, now, owner=owner)
    report.runs = execute_all(wb, pending, owner=owner, on_progress=on_progress)
    return report


def run_pipeline(wb: Any, name: str, parameters: dict[str, Any] | None = None, *, timeout_s: float | None = None,
                 retries: int | None = None, resume: bool | None = None, on_progress: Progress | None = None) -> PipelineRun:
    """Run a schedule's notebook (``name`` a schedule) or any notebook (a path or a name under notebooks/) now.

    The notebook and the parameters are checked before anything is recorded: bad input writes nothing.
    """
    schedules = schedules_of(wb)
    prepare(wb)
    schedule = schedules.get(name).schedule if name in schedules else None
    notebook = schedule.notebook if schedule else name
    given = {**(schedule.parameters if schedule else {}), **(parameters or {})}
    path = resolve_notebook(notebook, notebooks_dir(), field="notebook" if schedule else "name")
    checked = check_parameters(path, given)
    runs = PipelineRuns(wb.store)
    run = runs.claim_manual(notebook if schedule else str(path), checked, schedule=schedule, timeout_s=timeout_s, retries=retries,
                            resume=resume)
    return execute_all(wb, [run], owner=me(), on_progress=on_progress)[0]


def serve(wb: Any, *, clock: Clock | None = None, stop: threading.Event | None = None, max_wait_s: float = 30.0,
          drain_s: float = 30.0, on_report: Callable[[DueReport], None] | None = None) -> int:
    """Decide and start due runs until ``stop`` is set (SIGTERM and SIGINT set it when run in the main thread).

    Runs execute in threads, so a long run never delays another schedule's tick; on stop no new tick is
    claimed, running ones get ``drain_s`` to end and are then cancelled (kernel killed, recorded ``cancelled``).
    """
    clock = clock or SystemClock()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    owner = me()
    runs = PipelineRuns(wb.store)
    root = str(wb.paths.root)
    inflight: dict[str, Future[Any]] = {}
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="aios-serve")
    address = wb.config.get("dask.address") or ""
    try:
        while not stop.is_set():
            now = clock.now()
            pending, report = claim(wb, now, owner=owner)
            for r in pending:
                if address:
                    inflight[r.id] = pool.submit(_on_dask, wb, address, [r], owner=owner)
                else:
                    inflight[r.id] = pool.submit(execute, root, r.id, owner=owner)
            for rid in [k for k, f in inflight.items() if f.done()]:
                inflight.pop(rid).result()
            if on_report is not None and (pending or report.skipped or report.crashed):
                on_report(report)
            stop.wait(_sleep_s(wb, now, max_wait_s))
    finally:
        deadline = datetime.now(UTC) + timedelta(seconds=drain_s)
        for rid, f in list(inflight.items()):
            left = (deadline - datetime.now(UTC)).total_seconds()
            try:
                f.result(timeout=max(0.0, left))
            except TimeoutError:
                runs.request_cancel(rid, "cancelled: the scheduler was stopped (SIGTERM) and the run outlived the drain time")
                f.result()
        pool.shutdown(wait=True)
    return 0


def _sleep_s(wb: Any, now: datetime, max_wait_s: float) -> float:
    """Until the next tick of any schedule (at least 0.2 s, at most ``max_wait_s``)."""
    nxt = [st.next_run(now) for st in schedules_of(wb).list() if st.active]
    soon = min((t.astimezone(UTC) for t in nxt if t is not None), default=None)
    if soon is None:
        return max_wait_s
    return min(max_wait_s, max(0.2, (soon - now).total_seconds() + 0.05))


# -- install ------------------------------------------------------------------------------------

def units(workspace: Path, aios: str) -> dict[str, str]:
    """A systemd user service + timer running ``aios scheduler run-due`` every minute (``Persistent=true``)."""
    ws = str(workspace)
    return {
        "aios-scheduler.service": (
            "[Unit]\nDescription=AIOS Workbench: run the due pipelines of " + ws + "\n\n"
            "[Service]\nType=oneshot\n"
            f"Environment=AIOS_WORKSPACE={ws}\nEnvironment=HF_HUB_OFFLINE=1\nEnvironment=TRANSFORMERS_OFFLINE=1\n"
            f"ExecStart={aios} scheduler run-due --workspace {ws}\n"),
        "aios-scheduler.timer": (
            "[Unit]\nDescription=AIOS Workbench scheduler tick for " + ws + "\n\n"
            "[Timer]\nOnCalendar=*-*-* *:*:00\nPersistent=true\nAccuracySec=1s\n\n[Install]\nWantedBy=timers.target\n"),
    }


def crontab_line(workspace: Path, aios: str) -> str:
    return f"* * * * * AIOS_WORKSPACE={workspace} {aios} scheduler run-due --workspace {workspace} >> {workspace}/runs/scheduler.log 2>&1"

