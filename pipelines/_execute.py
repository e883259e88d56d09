"""Executing a pipeline run: attempts, the watchdog, the record.

:func:`execute` runs the attempts of one claimed run in this process (the
scheduler's, or a Dask worker's). Each attempt:

1. carries decided work forward first (``wb.resume()``, when the schedule says
   ``resume``), so approvals given since the last run are applied, exactly
   once, before the notebook looks at the state;
2. checks the parameters against the notebook's ``parameters`` cell (a bad one
   fails the run before any kernel starts);
3. starts ``_child`` (papermill) in its own session and watches it: past the
   time limit, or when the run is cancelled, the child and its kernel are
   killed; a child that dies without a result is a ``crashed`` attempt;
4. renders the executed (or partial) notebook to HTML and records the end:
   status, the failing cell, the cell outputs, the workflow runs and approvals
   the notebook started, the effects that went out, and the model cost.

A failed, timed-out or crashed attempt is retried while ``retries`` allow.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aios_kernel._errors import AiosError
from aios_kernel._ids import iso
from aios_kernel._resources import notebooks_dir
from aios_kernel._scheduler import PipelineRun, PipelineRuns, check_parameters, kill_group, resolve_notebook
from aios_kernel._workspace import private_tree

KILL_GRACE_S = 5.0
"""How long past the time limit the child gets to report a cell timeout itself before it is killed."""

Progress = Callable[[PipelineRun], None]


@dataclass
class Outcome:
    status: str
    error: str | None = None
    error_cell: int | None = None
    cells: int | None = None
    executed: str | None = None
    html: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    resumed: dict[str, Any] = field(default_factory=dict)


def execute(workspace: str | Path, run_id: str, *, owner: str | None = None, on_progress: Progress | None = None,
            poll_s: float = 0.2) -> PipelineRun:
    """Run every attempt of ``run_id`` until it ends; returns the recorded run (never raises for a failing notebook)."""
    from aios_kernel._workbench import Workbench

    with Workbench.open(workspace) as wb:
        runs = PipelineRuns(wb.store)
        while True:
            run = runs.get(run_id)
            folder = wb.paths.runs / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{run_id[-8:]}.{run.attempt + 1}-{Path(run.notebook).stem}"
            attempt = runs.start_attempt(run_id, folder=str(folder), owner=owner)
            if attempt is None:
                return runs.get(run_id)
            run = runs.get(run_id)
            started = iso()
            outcome = _attempt(wb, runs, run, attempt, folder, on_progress, poll_s)
            if outcome.status in ("failed", "timed_out", "crashed") and attempt < run.max_attempts \
                    and not outcome.error_cell == -1:
                if runs.attempt_failed(run_id, attempt, outcome.status, outcome.error, str(folder)):
                    continue
            fields = _attribution(wb, started, iso())
            runs.end(run_id, outcome.status, attempt=attempt, error=outcome.error, error_cell=outcome.error_cell,
                     cells=outcome.cells, executed=outcome.executed, html=outcome.html, outputs=outcome.outputs,
                     resumed=outcome.resumed, folder=str(folder), **fields)
            final = runs.get(run_id)
            if folder.is_dir():  # the record beside the files too, for whoever opens the folder
                (folder / "run.json").write_text(json.dumps({**final.to_json(), "ok": final.ok}, indent=2), encoding="utf-8")
                private_tree(folder)  # an executed notebook shows the business's records: the owner's alone
            return final


def _attempt(wb: Any, runs: PipelineRuns, run: PipelineRun, attempt: int, folder: Path, on_progress: Progress | None,
             poll_s: float) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    resumed: dict[str, Any] = {}
    if run.resume:
        try:
            report = wb.resume()
            resumed = {"tasks_run": report.tasks_run, "reconciled": len(report.reconciled), "reclaimed": len(report.reclaimed)}
        except AiosError as exc:
            resumed = {"error": str(exc)}
    try:
        source = resolve_notebook(run.notebook, notebooks_dir())
        params = check_parameters(source, run.parameters)
    except AiosError as exc:
        # bad input is not retried: it would fail the same way (error_cell -1 marks "before any kernel started")
        return Outcome("failed", error=str(exc), error_cell=-1, resumed=resumed)
    from aios_kernel._scheduler import declared

    decl = declared(source) or {}
    if "workspace" in decl and "workspace" not in params:
        params = {"workspace": str(wb.paths.root), **params}
    executed = folder / source.name
    spec = {"run_id": run.id, "attempt": attempt, "workspace": str(wb.paths.root), "store": str(wb.paths.store),
            "notebook": str(source), "executed": str(executed), "parameters": params, "timeout_s": run.timeout_s,
            "kernel_name": "python3", "cwd": str(source.parent), "folder": str(folder), "parent_pid": os.getpid()}
    (folder / "spec.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    log = (folder / "child.log").open("w")
    t0 = time.monotonic()
    deadline = t0 + run.timeout_s
    child = subprocess.Popen([sys.executable, "-m", "aios_kernel.pipelines._child", str(folder / "spec.json")],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=_child_env())
    runs.progress(run.id, child_pid=child.pid)
    status: str | None = None
    error: str | None = None
    last_seen: tuple[int, int] | None = None
    checks = 0
    try:
        while child.poll() is None:
            time.sleep(poll_s)
            checks += 1
            now = time.monotonic()
            if now > deadline + KILL_GRACE_S:
                status, error = "timed_out", f"ran past its time limit of {run.timeout_s:g} s"
                break
            if checks % 5 == 0 or on_progress is not None:
                current = runs.get(run.id)
                if current.cancel_requested:
                    status, error = "cancelled", current.reason or "cancelled"
                    break
                if on_progress is not None and current.progress != last_seen:
                    last_seen = current.progress
                    on_progress(current)
    finally:
        if status is not None or child.poll() is None:
            _, kernels = runs.processes(run.id)
            kill_group(child.pid)
            for pid in kernels:
                kill_group(pid)
            child.wait()
        log.close()
    progress = runs.get(run.id).progress
    where = f" at code cell {progress[0]} of {progress[1]}" if progress and progress[1] else ""
    result_file = folder / "result.json"
    if status is None:
        if result_file.exists():
            result = json.loads(result_file.read_text(encoding="utf-8"))
            status, error = result["status"], result.get("error")
        else:
            status, error = "crashed", f"the notebook process died (exit code {child.returncode}){where}; see {folder / 'child.log'}"
    elif status == "timed_out":
        error = f"{error}{where}; the kernel was killed"
    result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
    out = Outcome(status, error=error, error_cell=result.get("error_cell"), cells=result.get("cells") or (progress[1] if progress else None),
                  resumed=resumed)
    if executed.exists():
        out.executed = str(executed)
        out.outputs = cell_outputs(executed)
        out.html = _html(executed)
    return out


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    return env


def cell_outputs(path: Path) -> dict[str, Any]:
    """Per code cell (numbered from 1): a digest of its text outputs, the first 300 characters, and its image count."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, Any] = {}
    n = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
            continue
        n += 1
        texts, images = [], 0
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                texts.append("".join(o.get("text", "")))
            elif o.get("output_type") in ("execute_result", "display_data"):
                data = o.get("data", {})
                images += sum(1 for k in data if k.startswith("image/"))
                if "text/plain" in data and not any(k.startswith("image/") for k in data):
                    texts.append("".join(data["text/plain"]))
            elif o.get("output_type") == "error":
                texts.append(f"{o.get('ename')}: {o.get('evalue')}")
        text = "".join(texts)
        if text or images:
            out[str(n)] = {"digest": hashlib.sha1(text.encode()).hexdigest()[:16], "text": text[:300], "images": images}
    return out


def light_nbformat() -> None:
    """Import nbformat without the optional RFC 3987 grammar jsonschema compiles at import (about 3 s of CPU).

    nbformat validates notebooks against a schema with no ``iri`` formats, and jsonschema skips the check when
    the module cannot be imported; so the grammar is never used here. Only this process is affected, never a kernel.
    """
    if "jsonschema._format" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _html(executed: Path) -> str | None:
    light_nbformat()
    try:
        import nbformat
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    except Exception:  # noqa: BLE001  (a notebook that cannot be rendered still has its .ipynb)
        return None
    html_path = executed.with_suffix(".html")
    html_path.write_text(body, encoding="utf-8")
    return str(html_path)


def _attribution(wb: Any, start: str, end: str) -> dict[str, Any]:
    """What happened in the store while the run ran: the workflow runs created, approvals raised, effects applied, model cost.

    Attribution is by time window (the notebook's kernel is another process and writes through the
    public API like any other caller): work another process did in the same minutes is counted too.
    """
    try:
        wf = [r for r in wb.runs(limit=500) if start <= (r.info.get("created_at") or "") <= end]
        ids = {r.id for r in wf}
        approvals = [{"id": a.id, "title": a.title, "action": a.action, "status": a.status}
                     for a in wb.approvals.all() if start <= a.created_at <= end]
        effects = [{"key": e["key"], "action": e["action"], "status": e["status"], "run_id": e["run_id"]}
                   for e in wb.orchestrator.outbox.effects() if start <= (e.get("applied_at") or e.get("created_at") or "") <= end]
        cost: dict[str, Any] = {"calls": 0, "tokens": 0, "cpu_s": 0.0, "money": 0.0}
        if ids:
            df = wb.costs(by="run")
            for row in df.iter_rows(named=True):
                if row["run"] in ids:
                    cost["calls"] += row["calls"] or 0
                    cost["tokens"] += (row["tokens_in"] or 0) + (row["tokens_out"] or 0)
                    cost["cpu_s"] += row["cpu_s"] or 0.0
                    cost["money"] += row["cost"] or 0.0
        return {"workflow_runs": sorted(ids), "approvals": approvals, "effects": effects, "cost": cost}
    except AiosError as exc:
        return {"cost": {"error": str(exc)}}
