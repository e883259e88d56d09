"""``aios secrets set|list|remove NAME``: the workspace's credential store.

A value is read from the terminal (without echo) or from standard input,
never from the command line, where it would stay in the shell's history and
in every process listing. Nothing here prints a value.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from ._base import UsageError, command, open_workbench


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("set", "list", "remove"), help="set NAME (value from the terminal or stdin) | list | remove NAME")
    p.add_argument("name", nargs="?", help="the secret's name, as aios.toml refers to it: password = \"secret:NAME\"")
    p.add_argument("--workspace", "-w", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")


def _value(name: str) -> str:
    if sys.stdin.isatty():
        value = getpass.getpass(f"value of {name} (not shown): ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise UsageError(f"no value given for {name}: type it at the prompt, or pipe it in (echo ... | aios secrets set {name})")
    return value


def _run(ns: argparse.Namespace) -> int:
    if ns.action in ("set", "remove") and not ns.name:
        raise UsageError(f"aios secrets {ns.action} needs the secret's NAME")
    with open_workbench(ns) as wb:
        store = wb.secrets
        if ns.action == "list":
            names = store.names()
            print("\n".join(names) if names else "no secrets stored (aios secrets set NAME)")
        elif ns.action == "set":
            store.set(ns.name, _value(ns.name))
            print(f"stored {ns.name}; refer to it in aios.toml as \"secret:{ns.name}\"")
        else:
            print(f"removed {ns.name}" if store.remove(ns.name) else f"there was no secret named {ns.name}")
    return 0


secrets = command("secrets", "the credential store: set NAME (reads the value, never shows it), list, remove NAME", _args)(_run)
