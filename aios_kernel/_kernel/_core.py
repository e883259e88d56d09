"""``%aios help / status / verify / snapshot / open``: the workspace in this kernel."""

from __future__ import annotations

from typing import Any

from ._commands import Help, Magic, require


def _help(wb: Any, args: list[str]) -> Help:
    return Help()


def _status(wb: Any, args: list[str]) -> Any:
    return require(wb).status()


def _verify(wb: Any, args: list[str]) -> Any:
    return require(wb).verify()


def _snapshot(wb: Any, args: list[str]) -> Any:
    return require(wb).snapshot(args[0] if args else None)


def _open(wb: Any, args: list[str]) -> None:
    """Handled by the magic itself (it rebinds ``wb``); listed here for ``%aios help``."""


MAGICS = [
    Magic("help", "list the %aios sub-commands", "help", _help),
    Magic("status", "what the open workspace holds", "status", _status),
    Magic("verify", "integrity check and hash-chain verification of the store", "verify", _verify),
    Magic("snapshot", "a consistent backup of the store into snapshots/", "snapshot [PATH]", _snapshot),
    Magic("open", "open another workspace in this kernel", "open PATH", _open),
]
