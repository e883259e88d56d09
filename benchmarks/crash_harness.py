"""Crash harness: SIGKILL the demo workflows at random moments, resume, count what broke.

``python -m benchmarks.crash_harness --trials 200`` runs seeded trials. Each
trial copies a prepared demo workspace and drives the day's four workflows
through three phases, each in its own subprocess killed with SIGKILL at a
uniformly random moment of its working time (measured from the moment the
process is ready, so kills land in the work, not in interpreter start-up):

1. run: submit ``inbox_triage``, ``meeting_followup``, ``invoicing`` and
   ``weekly_content`` (with idempotency keys) and run them until they wait
   for approval; then a recovery process (not killed) submits again (a client
   retrying: same keys, same runs) and resumes;
2. approve: approve every pending approval; recovery approves the rest;
3. resume: carry the approved work forward (the side effects happen here);
   recovery resumes again.

Then it counts, against a clean reference run of the same workspace:
lost runs (acknowledged but not finished), duplicate side effects (a ledger
key on more than one line), lost side effects (an expected key missing),
lost approvals (an expected approval missing, or a decision acknowledged and
not recorded), duplicate approvals, and whether the event hash chain still
verifies; and the time to resume (the recovery process's wall time, and the
time ``resume()`` itself took inside it).

The same phases run against LangGraph (SQLite checkpointer,
``durability="sync"``) on the equivalent workflow: one thread per item,
``prepare → approve (interrupt) → issue → send``, the effects appending to a
ledger file the same way. Its recovery is generous: every thread that has
not finished is resumed from its checkpoint (``invoke(None)``, even when
``state.next`` looks empty), started again from its input if nothing ran, and
a thread waiting at its interrupt gets the decision again
(``Command(resume=...)``). LangGraph has no per-approval record here, so its
approval columns read n/a.

The template tier is used for text (no model is loaded in the subprocesses):
this harness is about the execution core, and loading SmolLM2 in ~1,000
processes would take hours.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

from benchmarks._fast import make_fast

WORKFLOWS = {
    "inbox_triage": {},
    "meeting_followup": {"as_of": "2026-11-20"},
    "invoicing": {"month": "2026-10"},
    "weekly_content": {"week": "2026-W47"},
}
LG_ITEMS = 12


class LGItem(TypedDict):
    """LangGraph state of one item: which steps have run."""

    item: int
    done: Annotated[list, operator.add]


# -- workers (run in the subprocesses) -------------------------------------------------------------


def _say(*parts: Any) -> None:
    print(*parts, flush=True)


def worker(mode: str, ws: str) -> int:
    """One phase of a trial, in this process: ``run``, ``recover-run``, ``approve``, ``resume``."""
    from aios_kernel import StateError, Workbench

    wb = Workbench.open(ws)
    _say("ready")
    if mode in ("run", "recover-run"):
        for wf, params in WORKFLOWS.items():
            run = wb.submit(wf, params, idempotency_key=f"trial/{wf}")
            _say("submitted", wf, run.id)
        if mode == "run":
            wb.run_pending()
    if mode == "approve":
        for a in wb.approvals.pending():
            try:
                a.approve()
            except StateError:
                continue
            _say("approved", a.id)
    if mode in ("recover-run", "resume"):
        report = wb.resume()
        _say("resumed", f"{report.seconds:.6f}")
    wb.close()
    _say("done")
    return 0


def lg_worker(mode: str, ws: str) -> int:
    """The LangGraph side: ``run``, ``recover-run``, ``approve``, ``recover``."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.types import Command

    root = Path(ws)
    conn = sqlite3.connect(root / "lg.db", check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    app = _lg_graph(root).compile(checkpointer=SqliteSaver(conn))
    _say("ready")
    for i in range(LG_ITEMS):
        cfg = {"configurable": {"thread_id": f"item-{i}"}}
        first = {"item": i, "done": []}
        if mode == "run":
            app.invoke(first, cfg, durability="sync")
            _say("submitted", f"item-{i}")
        elif mode == "approve":
            if app.get_state(cfg).interrupts:
                app.invoke(Command(resume="approved"), cfg, durability="sync")
                _say("approved", f"item-{i}")
        else:  # recover-run, recover: bring every unfinished thread as far as it may go
            _lg_recover(app, cfg, first, approve=mode == "recover")
            _say("recovered", f"item-{i}")
    conn.close()
    _say("done")
    return 0


def _lg_recover(app: Any, cfg: dict[str, Any], first: dict[str, Any], *, approve: bool) -> None:
    """LangGraph's recovery, done generously: resume from the checkpoint (``invoke(None)``) even when
    ``state.next`` looks empty, start again from the input when nothing ran, and re-send the decision
    to a thread waiting at its interrupt."""
    from langgraph.types import Command

    for _ in range(4):
        state = app.get_state(cfg)
        done = (state.values or {}).get("done", [])
        if "send" in done:
            return
        if state.interrupts:
            if not approve:
                return
            app.invoke(Command(resume="approved"), cfg, durability="sync")
        elif "prepare" not in done:
            app.invoke(first, cfg, durability="sync")
        else:
            app.invoke(None, cfg, durability="sync")


def _lg_graph(root: Path) -> Any:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    from benchmarks.bench_orchestrator import append_fsync

    ledger = root / "ledger.jsonl"

    def effect(action: str):  # type: ignore[no-untyped-def]
        def node(state: LGItem) -> dict[str, Any]:
            append_fsync(ledger, json.dumps({"key": f"lg/item-{state['item']}/{action}", "action": action, "payload": {}}))
            return {"done": [action]}

        return node

    def prepare(state: LGItem) -> dict[str, Any]:
        return {"done": ["prepare"]}

    def approve(state: LGItem) -> dict[str, Any]:
        decision = interrupt({"item": state["item"], "action": "issue"})
        return {"done": [f"approved:{decision}"]}

    g = StateGraph(LGItem)
    for name, fn in (("prepare", prepare), ("approve", approve), ("issue", effect("issue")), ("send", effect("send"))):
        g.add_node(name, fn)
    g.add_edge(START, "prepare")
    g.add_edge("prepare", "approve")
    g.add_edge("approve", "issue")
    g.add_edge("issue", "send")
    g.add_edge("send", END)
    return g


# -- driving subprocesses --------------------------------------------------------------------------


@dataclass
class Phase:
    lines: list[str]
    killed: bool
    returncode: int
    wall: float
    work: float


def _phase(mode: str, ws: Path, *, kill_after: float | None, engine: str = "ours", timeout: float = 300.0) -> Phase:
    """Run one worker; with ``kill_after``, SIGKILL it that many seconds after it said "ready"."""
    cmd = [sys.executable, "-m", "benchmarks.crash_harness", "--worker", mode, "--engine", engine, str(ws)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    ready = threading.Event()
    ready_at: list[float] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if not raw.endswith("\n"):
                break  # cut off by the kill: not an acknowledgement
            line = raw.strip()
            lines.append(line)
            if line == "ready":
                ready_at.append(time.perf_counter())
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed = False
    if kill_after is not None:
        ready.wait(timeout)
        deadline = (ready_at[0] if ready_at else time.perf_counter()) + kill_after
        while proc.poll() is None and time.perf_counter() < deadline:
            time.sleep(min(0.002, max(0.0, deadline - time.perf_counter())))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"{engine} worker {mode} failed ({proc.returncode}): {err[-2000:]}")
    wall = time.perf_counter() - t0
    work = time.perf_counter() - ready_at[0] if ready_at else wall
    return Phase(lines, killed, proc.returncode, wall, work)


@dataclass
class Reference:
    keys: set[str]
    approvals: set[tuple[str, str, str, str]]
    work: dict[str, float]


@dataclass
class TrialResult:
    seed: int
    kills: int = 0
    lost_runs: int = 0
    duplicate_effects: int = 0
    lost_effects: int = 0
    lost_approvals: int = 0
    duplicate_approvals: int = 0
    chain_ok: bool = True
    resume_wall: list[float] = field(default_factory=list)
    resume_inside: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _ledger_keys(ws: Path) -> Counter:
    path = ws / "ledger.jsonl"
    if not path.exists():
        return Counter()
    keys: Counter = Counter()
    for raw in path.read_bytes().split(b"\n"):
        if raw.strip():
            keys[json.loads(raw)["key"]] += 1  # a torn line would raise here: that would be a bug too
    return keys


def prepare_template(root: Path, source: Path | None = None) -> Path:
    """A demo workspace on the template tier (a copy of ``source``, or a fresh one), made once per harness run."""
    from aios_kernel import Workbench

    template = root / "template"
    if source is not None:
        shutil.copytree(source, template)
    else:
        Workbench.init(template, demo=True).close()
    return make_fast(template, heartbeat_s=None)


def _state(ws: Path) -> tuple[dict[str, str], set[tuple[str, str, str, str]], list[tuple[str, str, str, str]], dict[str, str], bool]:
    """(run statuses by idempotency key, approval slots, all approval slots with repeats, decisions, chain ok)."""
    from aios_kernel import Workbench

    with Workbench.open(ws) as wb:
        runs = {r["idempotency_key"]: r["status"] for r in wb.store.query("SELECT idempotency_key, status FROM runs"
                                                                           " WHERE idempotency_key IS NOT NULL")}
        rows = wb.store.query("SELECT a.id, a.kind, a.step, a.status, q.name, r.workflow FROM approvals a"
                              " JOIN queue q ON q.id = a.task_id JOIN runs r ON r.id = a.run_id")
        slots = [(r["workflow"], r["name"], r["step"], r["kind"]) for r in rows]
        decisions = {r["id"]: r["status"] for r in rows}
        ok = wb.verify().ok
    return runs, set(slots), slots, decisions, ok


def reference(template: Path, root: Path) -> Reference:
    ws = root / "reference"
    shutil.copytree(template, ws)
    work = {}
    for mode in ("run", "approve", "resume"):
        work[mode] = _phase(mode, ws, kill_after=None).work
    runs, slots, _, _, ok = _state(ws)
    assert ok and set(runs.values()) == {"succeeded"}, runs
    keys = _ledger_keys(ws)
    assert keys and max(keys.values()) == 1
    return Reference(set(keys), slots, work)


def trial(seed: int, template: Path, root: Path, ref: Reference) -> TrialResult:
    rng = random.Random(seed)
    ws = root / f"trial-{seed}"
    shutil.copytree(template, ws)
    res = TrialResult(seed)
    acked_runs: set[str] = set()
    acked_decisions: set[str] = set()

    def kill_time(mode: str) -> float:
        return rng.uniform(0.0, ref.work[mode] * 1.1)

    # 1. run, killed; recovery submits again (same keys) and resumes
    a = _phase("run", ws, kill_after=kill_time("run"))
    res.kills += a.killed
    acked_runs |= {line.split()[1] for line in a.lines if line.startswith("submitted")}
    rec = _phase("recover-run", ws, kill_after=None)
    _resume_times(res, rec)
    # 2. approve, killed; recovery approves the rest
    b = _phase("approve", ws, kill_after=kill_time("approve"))
    res.kills += b.killed
    acked_decisions |= {line.split()[1] for line in b.lines if line.startswith("approved")}
    rec = _phase("approve", ws, kill_after=None)
    acked_decisions |= {line.split()[1] for line in rec.lines if line.startswith("approved")}
    # 3. resume (the side effects), killed; recovery resumes
    c = _phase("resume", ws, kill_after=kill_time("resume"))
    res.kills += c.killed
    rec = _phase("resume", ws, kill_after=None)
    _resume_times(res, rec)

    runs, slots, all_slots, decisions, ok = _state(ws)
    res.chain_ok = ok
    res.lost_runs = sum(1 for wf in acked_runs if runs.get(f"trial/{wf}") != "succeeded")
    keys = _ledger_keys(ws)
    res.duplicate_effects = sum(n - 1 for n in keys.values() if n > 1)
    res.lost_effects = len(ref.keys - set(keys))
    extra = set(keys) - ref.keys
    if extra:
        res.notes.append(f"unexpected effects: {sorted(extra)[:3]}")
    res.lost_approvals = len(ref.approvals - slots) + sum(1 for d in acked_decisions if decisions.get(d) != "approved")
    res.duplicate_approvals = len(all_slots) - len(set(all_slots))
    shutil.rmtree(ws, ignore_errors=True)
    return res


def _resume_times(res: TrialResult, phase: Phase) -> None:
    res.resume_wall.append(phase.wall)
    inside = [float(line.split()[1]) for line in phase.lines if line.startswith("resumed")]
    res.resume_inside.extend(inside)


def lg_reference(root: Path) -> dict[str, float]:
    ws = root / "lg-reference"
    ws.mkdir()
    work = {"run": _phase("run", ws, kill_after=None, engine="langgraph").work,
            "approve": _phase("approve", ws, kill_after=None, engine="langgraph").work}
    keys = _ledger_keys(ws)
    assert len(keys) == 2 * LG_ITEMS and max(keys.values()) == 1, keys
    return work


def lg_trial(seed: int, root: Path, work: dict[str, float]) -> TrialResult:
    rng = random.Random(seed)
    ws = root / f"lg-trial-{seed}"
    ws.mkdir()
    res = TrialResult(seed)
    a = _phase("run", ws, kill_after=rng.uniform(0, work["run"] * 1.1), engine="langgraph")
    res.kills += a.killed
    t0 = time.perf_counter()
    _phase("recover-run", ws, kill_after=None, engine="langgraph")
    res.resume_wall.append(time.perf_counter() - t0)
    b = _phase("approve", ws, kill_after=rng.uniform(0, work["approve"] * 1.1), engine="langgraph")
    res.kills += b.killed
    t0 = time.perf_counter()
    _phase("recover", ws, kill_after=None, engine="langgraph")
    res.resume_wall.append(time.perf_counter() - t0)
    keys = _ledger_keys(ws)
    expected = {f"lg/item-{i}/{a}" for i in range(LG_ITEMS) for a in ("issue", "send")}
    res.duplicate_effects = sum(n - 1 for n in keys.values() if n > 1)
    res.lost_effects = len(expected - set(keys))
    if expected - set(keys):
        res.notes.append(f"seed {seed}: missing {sorted(expected - set(keys))[:4]}; kills at run={a.killed} approve={b.killed}")
    res.lost_runs = _lg_unfinished(ws)
    shutil.rmtree(ws, ignore_errors=True)
    return res


def _lg_unfinished(ws: Path) -> int:
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(ws / "lg.db", check_same_thread=False)
    app = _lg_graph(ws).compile(checkpointer=SqliteSaver(conn))
    unfinished = 0
    for i in range(LG_ITEMS):
        state = app.get_state({"configurable": {"thread_id": f"item-{i}"}})
        # Finished means its last step ran, whatever the checkpoint's ``next`` says: a kill right after
        # the input was written can leave a thread whose ``next`` is empty though nothing ran.
        if "send" not in (state.values or {}).get("done", []):
            unfinished += 1
    conn.close()
    return unfinished


@dataclass
class Summary:
    engine: str
    trials: int
    kills: int
    lost_runs: int
    duplicate_effects: int
    lost_effects: int
    lost_approvals: int | None
    duplicate_approvals: int | None
    chain_broken: int | None
    resume_wall_p50: float
    resume_wall_p95: float
    resume_inside_p50: float | None
    seconds: float
    notes: list[str]

    @property
    def clean(self) -> bool:
        return (self.lost_runs == self.duplicate_effects == self.lost_effects == 0
                and not self.lost_approvals and not self.duplicate_approvals and not self.chain_broken)


def _summarise(engine: str, results: list[TrialResult], seconds: float, with_approvals: bool) -> Summary:
    walls = sorted(w for r in results for w in r.resume_wall)
    inside = sorted(w for r in results for w in r.resume_inside)
    return Summary(
        engine, len(results), sum(r.kills for r in results), sum(r.lost_runs for r in results),
        sum(r.duplicate_effects for r in results), sum(r.lost_effects for r in results),
        sum(r.lost_approvals for r in results) if with_approvals else None,
        sum(r.duplicate_approvals for r in results) if with_approvals else None,
        sum(not r.chain_ok for r in results) if with_approvals else None,
        statistics.median(walls) if walls else 0.0, walls[int(0.95 * (len(walls) - 1))] if walls else 0.0,
        statistics.median(inside) if inside else None, seconds, [n for r in results for n in r.notes][:10])


def run_trials(trials: int, *, seed: int = 0, workers: int = 2, workdir: Path | None = None,
               langgraph_trials: int = 0, demo_workspace: Path | None = None) -> list[Summary]:
    """Run the harness; returns a summary per engine (ours first)."""
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="aios-crash-")) if own else Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    try:
        template = prepare_template(root, demo_workspace)
        ref = reference(template, root)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max(1, workers)) as pool:
            ours = list(pool.map(lambda i: trial(seed + i, template, root, ref), range(trials)))
        out = [_summarise("aios", ours, time.perf_counter() - t0, True)]
        if langgraph_trials:
            work = lg_reference(root)
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max(1, workers)) as pool:
                lg = list(pool.map(lambda i: lg_trial(seed + i, root, work), range(langgraph_trials)))
            out.append(_summarise("langgraph", lg, time.perf_counter() - t0, False))
        return out
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)


def report(summaries: list[Summary]) -> str:
    def fmt(v: Any) -> str:
        return "n/a" if v is None else str(v)

    head = (f"{'engine':<10}{'trials':>7}{'kills':>7}{'lost runs':>10}{'dup effects':>12}{'lost effects':>13}"
            f"{'lost approvals':>15}{'dup approvals':>14}{'chain broken':>13}{'resume p50':>11}{'p95':>7}")
    lines = [head]
    for s in summaries:
        lines.append(f"{s.engine:<10}{s.trials:>7}{s.kills:>7}{s.lost_runs:>10}{s.duplicate_effects:>12}{s.lost_effects:>13}"
                     f"{fmt(s.lost_approvals):>15}{fmt(s.duplicate_approvals):>14}{fmt(s.chain_broken):>13}"
                     f"{s.resume_wall_p50:>10.2f}s{s.resume_wall_p95:>6.2f}s")
    for s in summaries:
        if s.resume_inside_p50 is not None:
            lines.append(f"{s.engine}: resume() itself took {s.resume_inside_p50 * 1e3:.0f} ms (median); the rest of the "
                         "recovery time is starting a Python process and opening the workspace")
        lines.append(f"{s.engine}: {s.trials} trials in {s.seconds:.0f}s")
        lines += [f"  note: {n}" for n in s.notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.crash_harness", description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--langgraph-trials", type=int, default=None, help="default: as many as --trials")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="trials run side by side")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the summaries here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--engine", default="ours", help=argparse.SUPPRESS)
    p.add_argument("ws", nargs="?", help=argparse.SUPPRESS)
    ns = p.parse_args(argv)
    if ns.worker:
        return (lg_worker if ns.engine == "langgraph" else worker)(ns.worker, ns.ws)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    lg = ns.trials if ns.langgraph_trials is None else ns.langgraph_trials
    summaries = run_trials(ns.trials, seed=ns.seed, workers=ns.workers, workdir=ns.workdir, langgraph_trials=lg)
    print(report(summaries))
    if ns.json:
        ns.json.write_text(json.dumps([s.__dict__ for s in summaries], indent=1))
    return 0 if summaries[0].clean else 1


if __name__ == "__main__":
    sys.exit(main())
