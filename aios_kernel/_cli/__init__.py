"""The ``aios`` command: a thin shell over the library.

Every command makes the same calls a notebook would. Exit codes: 0 on
success, 1 on a domain error (one line: what was wrong, what to do; also
``aios verify`` finding problems, ``aios run`` ending failed), 2 on a usage
error (argparse's). An unexpected exception prints one line saying where
its details were logged, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .._errors import AiosError
from . import _invoices, _mail, _memory, _runs, _schedule, _secrets, _workspace
from ._base import CliCommand, UsageError

COMMANDS: dict[str, CliCommand] = {c.name: c for c in (
    _workspace.init, _workspace.ingest, _workspace.status, _workspace.verify, _workspace.snapshot, _workspace.demo,
    _runs.run_, _runs.approve, _runs.resume, _runs.replay, _runs.runs, _runs.approvals, _runs.trace, _runs.costs,
    _runs.plan,
    _invoices.invoices,
    _memory.memory,
    _secrets.secrets, _mail.mail,
    _schedule.schedule, _schedule.scheduler, _schedule.pipeline,
)}
"""Every ``aios`` sub-command, in the order ``aios --help`` lists them."""

EXIT_OK, EXIT_DOMAIN, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = argparse.ArgumentParser(prog="aios", description="AIOS Workbench: run the business from notebooks.")
    parser.add_argument("--version", action="version", version=f"aios {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.args(p)
        p.set_defaults(fn=cmd.run)
    return parser


def log_path() -> Path:
    """Where the details of an unexpected error go: ``$AIOS_LOG_DIR`` or the user's state folder."""
    base = os.environ.get("AIOS_LOG_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "aios")
    return Path(base) / "cli.log"


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # what this process writes holds clients' records: its owner's alone, whatever the shell's umask
    args = sys.argv[1:] if argv is None else argv
    bad = next((a for a in args if _not_text(a)), None)
    if bad is not None:
        # argv bytes that are not UTF-8 arrive as lone surrogates; nothing downstream can store or print them
        print(f"aios: error: argument {bad.encode('utf-8', 'replace').decode()!r} is not valid UTF-8 text; "
              "retype it (or rename the file) in UTF-8", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    ns = parser.parse_args(args)
    if not getattr(ns, "fn", None):
        parser.print_help()
        return EXIT_OK
    try:
        return int(ns.fn(ns))
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"aios {ns.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AiosError as exc:
        print(f"aios: error: {exc}", file=sys.stderr)
        return EXIT_DOMAIN
    except KeyboardInterrupt:
        print("aios: interrupted; the store is consistent (every change is one transaction). Rerun to continue.", file=sys.stderr)
        return 130
    except OSError as exc:
        # a path the system refuses (too long, not a folder, no permission): the user's to fix, not a bug
        print(f"aios: error: {exc.strerror or exc} ({exc.filename or 'a path'}); check the path and its permissions",
              file=sys.stderr)
        return EXIT_DOMAIN
    except Exception as exc:  # noqa: BLE001  (one line for the user, the traceback in the log)
        where = _log_unexpected(exc)
        print(f"aios: unexpected {type(exc).__name__}: {str(exc)[:300]} (details: {where})", file=sys.stderr)
        return EXIT_DOMAIN


def _not_text(arg: str) -> bool:
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in arg


def _log_unexpected(exc: BaseException) -> str:
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return "not logged: the log folder is not writable (set AIOS_LOG_DIR)"
    log = logging.getLogger("aios.cli")
    log.addHandler(handler)
    try:
        log.error("aios %s failed", " ".join(sys.argv[1:2]), exc_info=exc)
    finally:
        log.removeHandler(handler)
        handler.close()
    return str(path)


__all__ = ["COMMANDS", "CliCommand", "build_parser", "main"]
