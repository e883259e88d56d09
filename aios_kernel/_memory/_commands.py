"""``%aios memory "query"`` in notebooks and ``aios memory ...`` on the command line."""

from __future__ import annotations

import argparse
from typing import Any

from .._cli import cli_command
from .._kernel._commands import command, require

USAGE = 'memory "QUERY" [--k N] [--tier T] [--kind K] | memory prune | memory stats | memory ingest'


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%aios memory", add_help=False, exit_on_error=False)
    p.add_argument("words", nargs="*")
    p.add_argument("--k", "-k", type=int, default=10)
    p.add_argument("--tier")
    p.add_argument("--kind")
    p.add_argument("--client")
    p.add_argument("--project")
    p.add_argument("--dry-run", action="store_true")
    return p


@command("memory", "search memory: hits with provenance, versions and why they matched", USAGE)
def memory_command(wb: Any, args: list[str]) -> Any:
    from .._errors import ValidationError

    mem = require(wb).memory
    try:
        ns, unknown = _parser().parse_known_args(args)
    except (argparse.ArgumentError, SystemExit) as exc:
        raise ValidationError(f"usage: %aios {USAGE} ({exc})", field="args") from None
    if unknown:
        raise ValidationError(f"unknown option(s) {' '.join(unknown)}; usage: %aios {USAGE}", field="args")
    words = ns.words
    if words == ["prune"]:
        return mem.prune(dry_run=ns.dry_run)
    if words == ["stats"] or not words:
        return mem.stats()
    if words == ["ingest"]:
        return mem.ingest_artifacts()
    return mem.recall(" ".join(words), k=ns.k, tier=ns.tier, kind=ns.kind, client=ns.client, project=ns.project)


def _cli_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("recall", "prune", "stats", "ingest", "embed", "condense"),
                   help="recall QUERY | prune [--dry-run] | stats | ingest (artifacts) | embed (pending/migrate) | condense EPISODE")
    p.add_argument("words", nargs="*", help="the query (recall) or the episode (condense)")
    p.add_argument("--workspace", "-w", help="workspace folder (default: $AIOS_WORKSPACE or ./workspace)")
    p.add_argument("--k", "-k", type=int, default=10)
    p.add_argument("--tier")
    p.add_argument("--dry-run", action="store_true", help="prune: list what would expire, change nothing")


def _cli(ns: argparse.Namespace) -> int:
    from .._errors import ValidationError
    from .._workbench import Workbench

    with Workbench.open(ns.workspace) as wb:
        mem = wb.memory
        if ns.action == "recall":
            if not ns.words:
                raise ValidationError("aios memory recall needs a query, e.g. aios memory recall 'Brightwater budget'", field="query")
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
                raise ValidationError("aios memory condense needs an episode (a meta session or thread id)", field="episode")
            for ref in mem.condense(episode=" ".join(ns.words)):
                print(ref, mem.get(ref)["text"])
    return 0


cli_command("memory", "memory: recall QUERY, prune [--dry-run], stats, ingest (artifacts), embed, condense EPISODE",
            _cli_args)(_cli)
