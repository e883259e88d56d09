"""What every ``aios`` command shares: its declaration, the workspace argument, value types.

A command is data (:class:`CliCommand`): a name, a help line, a function
adding its arguments, and a function ``(namespace) -> exit code`` that opens
the workspace, makes one library call and prints what it returns. The list of
commands is written out in :mod:`aios_kernel._cli`, not gathered by import
side effects.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._workbench import Workbench


class UsageError(Exception):
    """The command line itself is incomplete or contradictory (exit 2, as argparse's own errors)."""


@dataclass(frozen=True)
class CliCommand:
    """``aios NAME``: help line, arguments, and the function that runs it."""

    name: str
    help: str
    args: Callable[[argparse.ArgumentParser], object]
    run: Callable[[argparse.Namespace], int]


def command(name: str, help: str, args: Callable[[argparse.ArgumentParser], object] = lambda p: None,
            ) -> Callable[[Callable[[argparse.Namespace], int]], CliCommand]:
    """Declare ``fn(namespace) -> exit code`` as ``aios NAME`` (listed in ``aios_kernel._cli.COMMANDS``)."""

    def declare(fn: Callable[[argparse.Namespace], int]) -> CliCommand:
        return CliCommand(name, help, args, fn)

    return declare


def workspace_arg(p: argparse.ArgumentParser, *, positional: bool = True) -> None:
    """``[DIR]`` and ``--workspace/-w DIR``: the workspace folder."""
    if positional:
        p.add_argument("workspace_pos", nargs="?", metavar="DIR", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")
    p.add_argument("--workspace", "-w", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")


def open_workbench(ns: argparse.Namespace) -> Workbench:
    """The workspace named by ``--workspace`` or ``DIR`` (default: ``$AIOS_WORKSPACE`` or ``./workspace``)."""
    from .._workbench import Workbench

    return Workbench.open(getattr(ns, "workspace", None) or getattr(ns, "workspace_pos", None))


def count(text: str) -> int:
    """An argparse type: a whole number from 0 to 1,000,000 (limits, ``--k``)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= n <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{n} is out of range: give a number from 0 to 1000000")
    return n
