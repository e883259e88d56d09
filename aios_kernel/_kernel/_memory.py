"""``%aios memory "query"``: hits with provenance, versions and why they matched."""

from __future__ import annotations

import argparse
from typing import Any

from ._commands import Magic, require

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


MAGICS = [Magic("memory", "search memory: hits with provenance, versions and why they matched", USAGE, memory_command)]
