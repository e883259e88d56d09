"""The IPython extension: ``%load_ext aios_kernel``.

Loading opens the workspace (``$AIOS_WORKSPACE`` or ``./workspace``), binds
``wb`` in the user namespace, registers ``%aios`` and starts the workbench's
background worker, which carries runs on after decisions (``[orchestrator]
background = false`` leaves that to ``wb.resume()``). It imports nothing
heavy: models, Dask and indexes start on first use. Without a workspace it
prints how to make one and binds nothing, so notebooks fail with a message,
not a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

from .._errors import AiosError
from . import _commands

_STATE: dict[str, Any] = {"wb": None, "ip": None}


def current() -> Any:
    """The Workbench the extension opened, or ``None``."""
    return _STATE["wb"]


def open_workspace(ip: Any, path: str | None) -> Any:
    from .._workbench import Workbench, set_current

    old = _STATE["wb"]
    wb = Workbench.open(path)
    if old is not None:
        old.close()
    _STATE["wb"] = wb
    set_current(wb)  # widgets made without a workbench use this one
    if wb.config.get("orchestrator.background", True):
        wb.worker.start()  # carries on runs after decisions: the widgets never run work themselves
    ip.push({"wb": wb})
    return wb


def load_ipython_extension(ip: Any) -> None:
    _STATE["ip"] = ip
    ip.register_magic_function(aios_magic, magic_kind="line", magic_name="aios")
    try:
        open_workspace(ip, None)
    except AiosError as exc:
        print(f"aios: {exc}", file=sys.stderr)


def unload_ipython_extension(ip: Any) -> None:
    wb = _STATE["wb"]
    if wb is not None:
        from .._workbench import set_current

        set_current(None)
        wb.close()
        if ip.user_ns.get("wb") is wb:
            del ip.user_ns["wb"]
    _STATE["wb"] = None
    ip.magics_manager.magics["line"].pop("aios", None)


def aios_magic(line: str) -> Any:
    """``%aios SUBCOMMAND [ARGS]``: ``%aios help`` lists them."""
    name, args = _commands.split(line)
    if name == "open":
        if not args:
            print("usage: %aios open PATH", file=sys.stderr)
            return None
        try:
            return open_workspace(_STATE["ip"], args[0])
        except AiosError as exc:
            print(f"aios: {exc}", file=sys.stderr)
            return None
    cmd = _commands.COMMANDS.get(name)
    if cmd is None:
        print(f"aios: unknown sub-command {name!r}; `%aios help` lists them", file=sys.stderr)
        return None
    try:
        return cmd.fn(_STATE["wb"], args)
    except AiosError as exc:
        print(f"aios: {exc}", file=sys.stderr)
        return None

