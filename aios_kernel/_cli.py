"""The ``aios`` command: a thin shell over the library.

Every command calls the same functions a notebook would; errors of ours
print one line (what was wrong, what to do) and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ._errors import AiosError

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def cli_command(name: str, help: str, args: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register ``fn(namespace) -> exit code`` as ``aios NAME``."""

    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = (help, args, fn)
        return fn

    return register


def _workspace_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace_pos", nargs="?", metavar="DIR", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")
    p.add_argument("--workspace", "-w", help="workspace folder (same as DIR)")


def _open(ns: argparse.Namespace):
    from ._workbench import Workbench

    return Workbench.open(ns.workspace or ns.workspace_pos)


@cli_command("init", "create a workspace (with --demo, seeded from the demo business in data/)",
             lambda p: (p.add_argument("dir", nargs="?", default=None, metavar="DIR"),
                        p.add_argument("--demo", action="store_true", help="ingest the bundled demo business"),
                        p.add_argument("--data", help="ingest this business folder instead")))
def _init(ns: argparse.Namespace) -> int:
    from ._workbench import Workbench
    from ._workspace import default_path

    with Workbench.init(ns.dir or default_path(), demo=ns.demo, data_dir=ns.data) as wb:
        print(f"workspace ready at {wb.paths.root}")
        print(wb.status())
    return 0


@cli_command("ingest", "ingest a business folder again (unchanged records write nothing)",
             lambda p: (_workspace_arg(p), p.add_argument("--data", help="folder (default: the workspace's data_dir)")))
def _ingest(ns: argparse.Namespace) -> int:
    with _open(ns) as wb:
        print(wb.ingest(ns.data).summary())
    return 0


@cli_command("status", "what the workspace holds", _workspace_arg)
def _status(ns: argparse.Namespace) -> int:
    with _open(ns) as wb:
        print(wb.status())
    return 0


@cli_command("verify", "integrity check and hash-chain verification (exit 1 on problems)", _workspace_arg)
def _verify(ns: argparse.Namespace) -> int:
    with _open(ns) as wb:
        report = wb.verify()
        print(report)
        return 0 if report.ok else 1


@cli_command("snapshot", "a consistent backup of the store (SQLite backup API)",
             lambda p: (_workspace_arg(p), p.add_argument("--to", help="destination file (default: WORKSPACE/snapshots/...)")))
def _snapshot(ns: argparse.Namespace) -> int:
    with _open(ns) as wb:
        print(wb.snapshot(ns.to))
    return 0


@cli_command("demo", "the main job: seed a workspace, run notebooks/daily_ops.ipynb headless, summarise",
             lambda p: (p.add_argument("--workspace", "-w", default=None), p.add_argument("--out", help="runs folder (default: WORKSPACE/runs)")))
def _demo(ns: argparse.Namespace) -> int:
    from .pipelines import demo

    return demo.main(Path(ns.workspace) if ns.workspace else None, Path(ns.out) if ns.out else None)


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(prog="aios", description="AIOS Workbench: run the business from notebooks.")
    parser.add_argument("--version", action="version", version=f"aios {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help, add_args, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help, description=help)
        add_args(p)
        p.set_defaults(fn=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    if not getattr(ns, "fn", None):
        parser.print_help()
        return 0
    try:
        return ns.fn(ns)
    except AiosError as exc:
        print(f"aios: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aios: interrupted; the store is consistent (every change is one transaction). Rerun to continue.", file=sys.stderr)
        return 130


from ._orchestrator import _cli as _orchestrator_cli  # noqa: E402,F401  (aios run/approve/resume/replay ...)
from ._memory import _commands as _memory_commands  # noqa: E402,F401  (aios memory ...)

if __name__ == "__main__":
    sys.exit(main())
