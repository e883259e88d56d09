"""Run the benchmarks: ``python -m benchmarks [--quick] [NAME ...]``.

Each ``benchmarks/bench_<name>.py`` defines ``main(quick: bool) -> None`` and
prints its own table, measuring what it compares side by side in one run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    names = discover()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"which to run (default: all of {', '.join(names)})")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ns = parser.parse_args(argv)
    unknown = set(ns.names) - set(names)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; known: {', '.join(names)}")
    failed = 0
    for name in ns.names or names:
        print(f"\n=== {name} {'(quick)' if ns.quick else ''}", flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.bench_{name}").main(quick=ns.quick)
        except Exception as exc:  # one failing benchmark must not hide the others' numbers
            failed += 1
            print(f"benchmark {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"--- {name}: {time.perf_counter() - t0:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
