"""``aios memory recall | prune | stats | ingest | embed | condense``."""

from __future__ import annotations

import argparse

from ._base import UsageError, command, count


def _cli_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("recall", "prune", "stats", "ingest", "embed", "condense"),
                   help="recall QUERY | prune [--dry-run] | stats | ingest (artifacts) | embed (pending/migrate) | condense EPISODE")
    p.add_argument("words", nargs="*", help="the query (recall) or the episode (condense)")
    p.add_argument("--workspace", "-w", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")
    p.add_argument("--k", "-k", type=count, default=10)
    p.add_argument("--tier")
    p.add_argument("--dry-run", action="store_true", help="prune: list what would expire, change nothing")


def _cli(ns: argparse.Namespace) -> int:
    from .._workbench import Workbench

    with Workbench.open(ns.workspace) as wb:
        mem = wb.memory
        if ns.action == "recall":
            if not ns.words:
                raise UsageError("aios memory recall needs a query, e.g. aios memory recall 'Brightwater budget'")
            for h in mem.recall(" ".join(ns.words), k=ns.k, tier=ns.tier):
                src = h.source + (f": {h.source_ref}" if h.source_ref else "")
                print(f"{h.score:6.3f}  {h.ref}  [{h.tier}/{h.kind}] ({src}) {' '.join(h.text.split())[:120]}")
        elif ns.action == "prune":
            print(mem.prune(dry_run=ns.dry_run))
        elif ns.action == "stats":
            print(mem.stats())
        elif ns.action == "ingest":
            print(mem.ingest_artifacts(progress=True))
        elif ns.action == "embed":
            print(f"embedded {mem.migrate_embeddings(progress=True)} memories; {mem.pending()} still pending")
        else:
            if not ns.words:
                raise UsageError("aios memory condense needs an episode (a meta session or thread id)")
            for ref in mem.condense(episode=" ".join(ns.words)):
                print(ref, mem.get(ref)["text"])
    return 0


memory = command("memory", "memory: recall QUERY, prune [--dry-run], stats, ingest (artifacts), embed, condense EPISODE",
                 _cli_args)(_cli)
