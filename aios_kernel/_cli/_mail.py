"""``aios mail sync``: read the new inbound mail into the workspace (IMAP, or the local Maildir)."""

from __future__ import annotations

import argparse

from ._base import command, count, open_workbench


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("sync",), help="sync: fetch what is new since the last sync")
    p.add_argument("--connector", "-c", default="email", help="the e-mail connector to read (default: email)")
    p.add_argument("--limit", type=count, help="stop after about this many messages; the next sync reads the rest")
    p.add_argument("--workspace", "-w", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")


def _run(ns: argparse.Namespace) -> int:
    with open_workbench(ns) as wb:
        print(wb.sync_mail(ns.connector, limit=ns.limit))
    return 0


mail = command("mail", "inbound mail: sync reads what is new (IMAP when configured, else the workspace's Maildir)", _args)(_run)
