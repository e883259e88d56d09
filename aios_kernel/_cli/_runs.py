"""``aios run / approve / resume / replay / runs / approvals / trace / costs / plan``.

Each command opens the workspace, calls the library, prints plain text and
exits 0 (1 when a run ended failed). ``aios resume`` is safe to kill and
rerun: every step it takes is a transaction or an idempotent effect.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._base import UsageError, command, count, open_workbench, workspace_arg


def _params(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"--param takes KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out


def _summary(run: Any, wb: Any) -> str:
    info = run.info
    tasks = run.tasks
    counts: dict[str, int] = {}
    for t in tasks:
        counts[t.status] = counts.get(t.status, 0) + 1
    lines = [f"run {run.id} {info['workflow']}: {info['status']} ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})"]
    if info["error"]:
        lines.append(f"  error: {info['error']}")
    waiting = [a for a in run.approvals if a.is_open]
    if waiting:
        lines.append(f"  {len(waiting)} approval(s) waiting: `aios approvals` shows them, `aios approve --all` approves them")
    for e in run.effects:
        lines.append(f"  effect {e['status']:<9} {e['action']:<16} {e['key']}")
    return "\n".join(lines)


@command("run", "run a workflow until it is done or waits for approval",
         lambda p: (p.add_argument("workflow", help="inbox_triage, meeting_followup, invoicing, weekly_content, ..."),
                    workspace_arg(p),
                    p.add_argument("--param", "-p", action="append", metavar="KEY=VALUE", help="a workflow parameter"),
                    p.add_argument("--key", help="idempotency key: the same key never runs twice"),
                    p.add_argument("--simulate", action="store_true", help="propose side effects, execute none")))
def run_(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        params = _params(ns.param)
        run = wb.simulate(ns.workflow, params) if ns.simulate else wb.run(ns.workflow, params, ns.key)
        print(_summary(run, wb))
        return 1 if run.status in ("failed", "compensated", "cancelled") else 0


@command("approve", "decide pending approvals (--all, or by id; --reject, --choose OPTION)",
         lambda p: (p.add_argument("ids", nargs="*", metavar="ID", help="approval ids"),
                    p.add_argument("--workspace", "-w", help="workspace folder"),
                    p.add_argument("--all", action="store_true", help="every pending approval"),
                    p.add_argument("--reject", action="store_true", help="reject instead of approve"),
                    p.add_argument("--reason", default="", help="why (with --reject)"),
                    p.add_argument("--choose", help="pick this option (e.g. continue, stop)")))
def approve(ns: argparse.Namespace) -> int:
    ns.workspace_pos = None
    with open_workbench(ns) as wb:
        book = wb.approvals
        targets = book.pending() if ns.all else [book.get(i) for i in ns.ids]
        if not targets:
            print("nothing to decide" if ns.all else "name approval ids, or pass --all")
            return 0
        for a in targets:
            if ns.choose:
                a.choose(ns.choose)
            elif ns.reject:
                a.reject(ns.reason)
            else:
                a.approve()
            print(f"{a.id} {a.status}: {a.title}")
        print("decisions recorded; `aios resume` carries the runs forward")
    return 0


@command("resume", "after a crash or decisions: reclaim, reconcile, and run what is pending", workspace_arg)
def resume(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        print(wb.resume())
    return 0


@command("replay", "re-run a past run from a checkpoint (side effects simulated unless --allow-side-effects)",
         lambda p: (p.add_argument("run_id", metavar="RUN"), workspace_arg(p),
                    p.add_argument("--from", dest="from_step", help="step name to start from (default: the first)"),
                    p.add_argument("--dry-run", action="store_true", help="simulate side effects (the default)"),
                    p.add_argument("--allow-side-effects", action="store_true", help="execute side effects for real")))
def replay(ns: argparse.Namespace) -> int:
    if ns.dry_run and ns.allow_side_effects:
        raise UsageError("--dry-run and --allow-side-effects contradict each other; pick one")
    with open_workbench(ns) as wb:
        run = wb.replay(ns.run_id, from_step=ns.from_step, allow_side_effects=bool(ns.allow_side_effects))
        print(f"replay of {ns.run_id} from {run.info['from_step']}: {'LIVE side effects' if ns.allow_side_effects else 'dry run'}")
        print(_summary(run, wb))
        for e in run.proposed_effects():
            print(f"  would {e['action']}: {json.dumps(e['payload'], ensure_ascii=False)[:160]}")
    return 0


@command("runs", "recent runs", lambda p: (workspace_arg(p), p.add_argument("--status"), p.add_argument("--limit", type=count, default=20)))
def runs(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        print(wb.runs(status=ns.status, limit=ns.limit))
    return 0


@command("approvals", "pending approvals, with what, why, evidence and cost", workspace_arg)
def approvals(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        pending = wb.approvals.pending()
        print(f"{len(pending)} pending approval(s)")
        for a in pending:
            print(a)
    return 0


@command("trace", "the spans and the story of a run (--otel FILE exports OTLP/JSON, --plot FILE a timeline)",
         lambda p: (p.add_argument("run_id", metavar="RUN"), workspace_arg(p), p.add_argument("--otel"), p.add_argument("--plot")))
def trace(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        print(wb.narrative(ns.run_id))
        df = wb.trace(ns.run_id)
        print(df.select("kind", "name", "status", "agent", "agent_version", "tokens_in", "tokens_out", "cost", "duration_s"))
        if ns.otel:
            wb.export_otel(ns.run_id, ns.otel)
            print(f"OTLP/JSON written to {ns.otel}")
        if ns.plot:
            wb.timeline(ns.run_id, ns.plot)
            print(f"timeline written to {ns.plot}")
    return 0


@command("costs", "model spending by workflow or day",
         lambda p: (workspace_arg(p), p.add_argument("--by", default="workflow", choices=["workflow", "day", "run", "agent", "tier"])))
def costs(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        print(wb.costs(ns.by))
    return 0


@command("plan", "map a goal to workflows (--submit queues them, --run runs them)",
         lambda p: (p.add_argument("goal"), workspace_arg(p), p.add_argument("--submit", action="store_true"),
                    p.add_argument("--run", action="store_true")))
def plan(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        plan = wb.plan(ns.goal)
        print(plan)
        if ns.run or ns.submit:
            runs = plan.run() if ns.run else plan.submit()
            for r in runs:
                print(_summary(r, wb))
    return 0
