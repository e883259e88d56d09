"""``aios schedule``, ``aios scheduler`` and ``aios pipeline``: notebooks as recurring workflows.

``schedule add|list|pause|resume|remove`` defines schedules; ``scheduler run-due``
runs what is due once (for cron or a systemd timer), ``scheduler serve`` loops
until SIGTERM, ``scheduler install`` writes (or prints) the timer; ``pipeline
run|runs|show|compare|cancel|morning`` runs a notebook now and reads the history.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from ._base import UsageError, command, count, open_workbench


def _ws(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", "-w", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")


def _pairs(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"--param takes NAME=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = v
    return out


def _seconds(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return x


# -- aios schedule ----------------------------------------------------------------------------------

def _schedule_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="define a schedule (checked: cron, zone, notebook, parameters)")
    a.add_argument("name")
    a.add_argument("--notebook", required=True, help="a notebook under notebooks/ (e.g. daily_ops.ipynb) or a path")
    a.add_argument("--cron", required=True, help="cron expression, e.g. '0 7 * * *' (5 fields, or 6 with seconds first)")
    a.add_argument("--tz", help="IANA time zone, e.g. Europe/Berlin (default: [workspace] timezone)")
    a.add_argument("--param", "-p", action="append", metavar="NAME=VALUE", help="a notebook parameter")
    a.add_argument("--catch-up", choices=("latest", "none", "all"), default="latest", help="missed ticks after downtime")
    a.add_argument("--overlap", choices=("skip", "buffer_one", "cancel_other", "allow"), default="skip",
                   help="a tick due while a run is going")
    a.add_argument("--timeout", type=_seconds, default=3600.0, help="time limit of one attempt in seconds")
    a.add_argument("--retries", type=count, default=0, help="further attempts after a failure")
    a.add_argument("--window", type=_seconds, default=86400.0, help="catch-up all: how far back (seconds)")
    a.add_argument("--max", type=count, default=10, help="catch-up all: at most this many missed ticks")
    a.add_argument("--grace", type=_seconds, default=300.0, help="a tick found later than this is missed (seconds)")
    a.add_argument("--no-resume", action="store_true", help="do not carry decided approvals out before the notebook")
    a.add_argument("--replace", action="store_true", help="change an existing schedule of that name")
    _ws(a)
    ls = sub.add_parser("list", help="schedules with their next run")
    ls.add_argument("--json", action="store_true")
    _ws(ls)
    for name, text in (("pause", "stop a schedule's ticks"), ("resume", "start its ticks again (from now)"),
                       ("remove", "delete a schedule (its run history stays)")):
        x = sub.add_parser(name, help=text)
        x.add_argument("name")
        _ws(x)


@command("schedule", "schedules: add NAME --notebook NB --cron EXPR --tz ZONE, list, pause NAME, resume NAME, remove NAME",
         _schedule_args)
def schedule(ns: argparse.Namespace) -> int:
    from ..pipelines.scheduler import prepare, schedules_of

    with open_workbench(ns) as wb:
        book = schedules_of(wb)
        if ns.action == "add":
            st = book.add(ns.name, ns.notebook, ns.cron, timezone=ns.tz, parameters=_pairs(ns.param), catch_up=ns.catch_up,
                          overlap=ns.overlap, timeout_s=ns.timeout, retries=ns.retries, catch_up_window_s=ns.window,
                          catch_up_max=ns.max, grace_s=ns.grace, resume=not ns.no_resume, replace=ns.replace)
            print(f"schedule {st.name} saved: {st.schedule.notebook} at '{st.schedule.cron}' {st.schedule.timezone}; "
                  f"next run {st.next_run().isoformat()}")
        elif ns.action == "list":
            prepare(wb)
            states = book.list()
            if ns.json:
                print(json.dumps([{"name": s.name, **s.schedule.definition(), "source": s.schedule.source, "paused": s.paused,
                                   "next_run": (n.isoformat() if (n := s.next_run()) else None)} for s in states], indent=2))
            elif not states:
                print("no schedules; add one with `aios schedule add NAME --notebook NB --cron EXPR --tz ZONE`")
            for s in states if not ns.json else []:
                nxt = s.next_run()
                print(f"{s.name:<20} {s.schedule.cron:<16} {s.schedule.timezone:<18} {s.schedule.notebook:<28} "
                      f"{'paused' if s.paused else ('next ' + nxt.isoformat() if nxt else 'disabled')}"
                      f"  [{s.schedule.overlap}, catch-up {s.schedule.catch_up}, {s.schedule.source}]")
        elif ns.action == "pause":
            print(book.pause(ns.name))
        elif ns.action == "resume":
            print(book.resume(ns.name))
        else:
            book.remove(ns.name)
            print(f"schedule {ns.name} removed (its runs stay in the history)")
    return 0


# -- aios scheduler -----------------------------------------------------------------------------------

def _scheduler_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    d = sub.add_parser("run-due", help="run what is due now (or at --now) once, and return when those runs ended")
    d.add_argument("--now", help="the instant to decide at, ISO-8601 with offset (stands in for the clock)")
    d.add_argument("--json", action="store_true", help="the runs as JSON")
    _ws(d)
    s = sub.add_parser("serve", help="decide and start due runs until SIGTERM")
    s.add_argument("--max-wait", type=_seconds, default=30.0, help="longest sleep between decisions (seconds)")
    s.add_argument("--drain", type=_seconds, default=30.0, help="on SIGTERM: how long running runs may go on (seconds)")
    _ws(s)
    i = sub.add_parser("install", help="write a systemd user timer (or print it, or a crontab line)")
    i.add_argument("--print", dest="print_only", action="store_true", help="print the units instead of writing them")
    i.add_argument("--cron", action="store_true", help="print a crontab line instead")
    i.add_argument("--dir", help="where to write the units (default: ~/.config/systemd/user)")
    _ws(i)


@command("scheduler", "the scheduler: run-due [--now ISO] (once, for cron/systemd), serve (until SIGTERM), install",
         _scheduler_args)
def scheduler(ns: argparse.Namespace) -> int:
    from .._scheduler import parse_instant
    from ..pipelines import scheduler as sched

    with open_workbench(ns) as wb:
        if ns.action == "run-due":
            now = parse_instant(ns.now, field="--now") if ns.now else None
            report = sched.run_due(wb, now)
            if ns.json:
                print(json.dumps([_run_json(r) for r in report.runs], indent=2))
            else:
                print(report)
            return 0 if all(r.status == "succeeded" for r in report.runs) else 1
        if ns.action == "serve":
            print(f"scheduler serving {wb.paths.root} (pid {__import__('os').getpid()}); SIGTERM stops it", flush=True)
            return sched.serve(wb, max_wait_s=ns.max_wait, drain_s=ns.drain,
                               on_report=lambda r: print(r, flush=True))
        aios = shutil.which("aios") or str(Path(sys.executable).with_name("aios"))
        if ns.cron:
            print(sched.crontab_line(wb.paths.root, aios))
            return 0
        units = sched.units(wb.paths.root, aios)
        if ns.print_only:
            for name, text in units.items():
                print(f"# {name}\n{text}")
            return 0
        folder = Path(ns.dir).expanduser() if ns.dir else Path.home() / ".config" / "systemd" / "user"
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in units.items():
            (folder / name).write_text(text, encoding="utf-8")
            print(f"wrote {folder / name}")
        print("enable it: systemctl --user daemon-reload && systemctl --user enable --now aios-scheduler.timer")
    return 0


# -- aios pipeline -------------------------------------------------------------------------------------

def _pipeline_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = sub.add_parser("run", help="run a schedule's notebook (or any notebook) now, headless")
    r.add_argument("name", help="a schedule name, a notebook under notebooks/, or a path to an .ipynb")
    r.add_argument("--param", "-p", action="append", metavar="NAME=VALUE", help="a notebook parameter")
    r.add_argument("--timeout", type=_seconds, help="time limit in seconds")
    r.add_argument("--retries", type=count, help="further attempts after a failure")
    r.add_argument("--no-resume", action="store_true", help="do not carry decided approvals out first")
    r.add_argument("--json", action="store_true")
    _ws(r)
    ls = sub.add_parser("runs", help="the run history")
    ls.add_argument("--schedule")
    ls.add_argument("--status")
    ls.add_argument("--limit", type=count, default=50)
    ls.add_argument("--json", action="store_true", help="one object per run")
    _ws(ls)
    sh = sub.add_parser("show", help="one run in full")
    sh.add_argument("run_id", metavar="RUN")
    _ws(sh)
    c = sub.add_parser("compare", help="two runs of one schedule: parameters, durations, outputs that changed")
    c.add_argument("runs", nargs="*", metavar="RUN", help="two run ids (default: the last two runs of --schedule)")
    c.add_argument("--schedule")
    _ws(c)
    x = sub.add_parser("cancel", help="cancel a queued, pending or running run (its kernel is killed)")
    x.add_argument("run_id", metavar="RUN")
    _ws(x)
    m = sub.add_parser("morning", help="what the night proposed, what was decided since, and what went out")
    m.add_argument("--since", help="ISO-8601 instant (default: 24 hours ago)")
    _ws(m)


def _run_json(r: Any) -> dict[str, Any]:
    d = r.to_json()
    d["scheduled_for"] = r.scheduled_for
    return d


@command("pipeline", "pipeline runs: run NAME [--param K=V], runs [--json], show RUN, compare A B, cancel RUN, morning",
         _pipeline_args)
def pipeline(ns: argparse.Namespace) -> int:
    from .._scheduler import PipelineRuns, compare, morning_view, parse_instant
    from ..pipelines import scheduler as sched

    with open_workbench(ns) as wb:
        runs = PipelineRuns(wb.store)
        if ns.action == "run":
            def show(r: Any) -> None:
                if r.progress and r.progress[1] and not ns.json:
                    print(f"  cell {r.progress[0]} of {r.progress[1]}", flush=True)

            run = sched.run_pipeline(wb, ns.name, _pairs(ns.param), timeout_s=ns.timeout, retries=ns.retries,
                                     resume=False if ns.no_resume else None, on_progress=show)
            if ns.json:
                print(json.dumps(_run_json(run), indent=2))
            else:
                print(f"run {run.id} {run.schedule or run.notebook}: {run.status}" + (f" ({run.error})" if run.error else ""))
                print(f"  executed notebook: {run.executed}\n  HTML report:       {run.html}")
            return 0 if run.ok else 1
        if ns.action == "runs":
            items = runs.list(schedule=ns.schedule, status=ns.status, limit=ns.limit)
            if ns.json:
                print(json.dumps([_run_json(r) for r in items], indent=2))
                return 0
            if not items:
                print("no pipeline runs yet; `aios pipeline run NAME` or `aios scheduler run-due`")
            for r in items:
                dur = f"{r.duration_s:6.1f}s" if r.duration_s is not None else "      -"
                where = f" cell {r.progress[0]}/{r.progress[1]}" if r.progress else ""
                print(f"{r.id}  {(r.schedule or Path(r.notebook).name):<20} {r.scheduled_for or '':<26} {r.status:<10}{where} {dur}"
                      + (f"  {r.error or r.reason}" if (r.error or r.reason) and r.status != "succeeded" else "")
                      + (f"  {r.html}" if r.html else ""))
            return 0
        if ns.action == "show":
            print(json.dumps(_run_json(runs.get(ns.run_id)), indent=2))
            return 0
        if ns.action == "compare":
            if len(ns.runs) == 2:
                a, b = runs.get(ns.runs[0]), runs.get(ns.runs[1])
            elif not ns.runs and ns.schedule:
                done = [r for r in runs.list(schedule=ns.schedule, include_skipped=False) if r.done]
                if len(done) < 2:
                    raise UsageError(f"schedule {ns.schedule!r} has {len(done)} finished run(s); compare needs two")
                b, a = done[0], done[1]
            else:
                raise UsageError("name two runs (aios pipeline compare RUN RUN) or a schedule (--schedule NAME)")
            print(compare(a, b))
            return 0
        if ns.action == "cancel":
            r = runs.request_cancel(ns.run_id)
            print(f"run {r.id}: {r.status}" + (" (cancel requested; its executor kills the kernel)" if not r.done else ""))
            return 0
        since = parse_instant(ns.since, field="--since") if ns.since else None
        print(morning_view(wb, since))
    return 0
