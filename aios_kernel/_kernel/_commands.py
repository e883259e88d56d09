"""The ``%aios`` sub-commands: a small registry, filled from an explicit list.

A command is a function ``(wb, args) -> object``; what it returns is
displayed (so a rich repr shows as HTML in Jupyter). ``wb`` is ``None`` when
no workspace is open; commands that need one say so through
:func:`require`.

The built-in commands are :class:`Magic` declarations listed by the modules
beside this one (``MAGICS``) and installed by :mod:`aios_kernel._kernel`;
:func:`command` registers one more (an extension's) at once.

A name can have two forms, declared in any order: ``%aios NAME ARGS`` and
``%aios NAME`` alone (``bare=True``: ``%aios memory`` opens the explorer,
``%aios memory QUERY`` answers the query).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._errors import WorkspaceError


Handler = Callable[[Any, list[str]], Any]


@dataclass(frozen=True)
class Form:
    """One way of calling a command: its function, help line and usage."""

    fn: Handler
    help: str
    usage: str


@dataclass(frozen=True)
class Command:
    """``%aios name``: the form taking arguments, the form without, or both."""

    name: str
    with_args: Form | None = None
    bare: Form | None = None

    def fn(self, wb: Any, args: list[str]) -> Any:
        """Run the command: the bare form when there are no arguments and one is registered."""
        form = self.bare if self.bare is not None and (not args or self.with_args is None) else self.with_args
        assert form is not None  # a Command always holds at least one form
        return form.fn(wb, args)

    @property
    def help(self) -> str:
        if self.bare and self.with_args:
            return f"{self.bare.help}; with arguments: {self.with_args.help}"
        return (self.bare or self.with_args).help  # type: ignore[union-attr]

    @property
    def usage(self) -> str:
        if self.bare and self.with_args:
            rest = self.with_args.usage.split(" ", 1)[1] if " " in self.with_args.usage else ""
            return f"{self.name} {rest if rest.startswith('[') else f'[{rest}]'}" if rest else self.name
        return (self.bare or self.with_args).usage  # type: ignore[union-attr]


COMMANDS: dict[str, Command] = {}


@dataclass(frozen=True)
class Magic:
    """The declaration of one form of ``%aios NAME``."""

    name: str
    help: str
    usage: str
    fn: Handler
    bare: bool = False


def install(magics: list[Magic]) -> None:
    """Register declared forms (a later form of the same name and kind replaces the earlier)."""
    for m in magics:
        form = Form(m.fn, m.help, m.usage or m.name)
        old = COMMANDS.get(m.name, Command(m.name))
        COMMANDS[m.name] = Command(m.name, old.with_args, form) if m.bare else Command(m.name, form, old.bare)


def command(name: str, help: str, usage: str = "", *, bare: bool = False) -> Callable[[Handler], Handler]:
    """Register ``fn`` as ``%aios name`` now (with ``bare=True``: as what ``%aios name`` alone does)."""

    def register(fn: Handler) -> Handler:
        install([Magic(name, help, usage, fn, bare)])
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
