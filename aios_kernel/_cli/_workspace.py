"""``aios init / ingest / status / verify / snapshot / demo``: the workspace itself."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._base import command, open_workbench, workspace_arg


@command("init", "create a workspace (with --demo, seeded from the demo business in data/)",
         lambda p: (p.add_argument("dir", nargs="?", default=None, metavar="DIR"),
                    p.add_argument("--demo", action="store_true", help="ingest the bundled demo business"),
                    p.add_argument("--data", help="ingest this business folder instead")))
def init(ns: argparse.Namespace) -> int:
    from .._workbench import Workbench
    from .._workspace import default_path

    with Workbench.init(ns.dir or default_path(), demo=ns.demo, data_dir=ns.data) as wb:
        print(f"workspace ready at {wb.paths.root}")
        print(wb.status())
    return 0


@command("ingest", "ingest a business folder again (unchanged records write nothing)",
         lambda p: (workspace_arg(p), p.add_argument("--data", help="folder (default: the workspace's data_dir)")))
def ingest(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        print(wb.ingest(ns.data).summary())
    return 0


@command("status", "what the workspace holds", workspace_arg)
def status(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        print(wb.status())
    return 0


@command("verify", "integrity check and hash-chain verification (exit 1 on problems)", workspace_arg)
def verify(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        report = wb.verify()
        print(report)
        return 0 if report.ok else 1


@command("snapshot", "a consistent backup of the store (SQLite backup API)",
         lambda p: (workspace_arg(p), p.add_argument("--to", help="destination file (default: WORKSPACE/snapshots/...)")))
def snapshot(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        print(wb.snapshot(ns.to))
    return 0


@command("demo", "the main job: seed a workspace, run notebooks/daily_ops.ipynb headless, summarise",
         lambda p: (p.add_argument("--workspace", "-w", default=None), p.add_argument("--out", help="runs folder (default: WORKSPACE/runs)")))
def demo(ns: argparse.Namespace) -> int:
    from ..pipelines import demo

    return demo.main(Path(ns.workspace) if ns.workspace else None, Path(ns.out) if ns.out else None)
