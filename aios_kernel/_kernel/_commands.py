"""The ``%aios`` sub-commands: a small registry each layer adds to.

A command is a function ``(wb, args) -> object``; what it returns is
displayed (so a rich repr shows as HTML in Jupyter). ``wb`` is ``None`` when
no workspace is open; commands that need one say so through
:func:`require`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._errors import WorkspaceError


@dataclass(frozen=True)
class Command:
    name: str
    fn: Callable[[Any, list[str]], Any]
    help: str
    usage: str


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, usage: str = "") -> Callable[[Callable[[Any, list[str]], Any]], Callable[[Any, list[str]], Any]]:
    """Register ``fn`` as ``%aios name``."""

    def register(fn: Callable[[Any, list[str]], Any]) -> Callable[[Any, list[str]], Any]:
        COMMANDS[name] = Command(name, fn, help, usage or name)
        return fn

    return register


def require(wb: Any) -> Any:
    if wb is None:
        raise WorkspaceError("no workspace is open in this kernel: run `%aios open PATH` (create one with `aios init PATH --demo`)")
    return wb


def split(line: str) -> tuple[str, list[str]]:
    parts = shlex.split(line)
    return (parts[0], parts[1:]) if parts else ("status", [])


class Help:
    """The list of sub-commands, as text and HTML."""

    def __str__(self) -> str:
        width = max(len(c.usage) for c in COMMANDS.values())
        return "%aios sub-commands:\n" + "\n".join(f"  %aios {c.usage:<{width}}  {c.help}" for c in sorted(COMMANDS.values(), key=lambda c: c.name))

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td><code>%aios {html.escape(c.usage)}</code></td><td>{html.escape(c.help)}</td></tr>"
            for c in sorted(COMMANDS.values(), key=lambda c: c.name)
        )
        return f"<table class='aios-help'>{rows}</table>"


@command("help", "list the %aios sub-commands")
def _help(wb: Any, args: list[str]) -> Help:
    return Help()


@command("status", "what the open workspace holds")
def _status(wb: Any, args: list[str]) -> Any:
    return require(wb).status()


@command("verify", "integrity check and hash-chain verification of the store")
def _verify(wb: Any, args: list[str]) -> Any:
    return require(wb).verify()


@command("snapshot", "a consistent backup of the store into snapshots/", "snapshot [PATH]")
def _snapshot(wb: Any, args: list[str]) -> Any:
    return require(wb).snapshot(args[0] if args else None)
