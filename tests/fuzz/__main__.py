"""``make fuzz``: many generated cases against every boundary, and a summary of what came out.

    python -m tests.fuzz [--cases 10000] [--seed N] [--limit-s 5] [--only NAME,NAME]

Each case runs one call of a target (see ``_targets``) on a real workspace. Outcomes:

- accepted / refused: the call returned, or raised an ``AiosError`` (documented); for ingest,
  refused means the file was recorded as rejected;
- undocumented: any other exception escaped (counted by type and the line that raised it);
- hang: the case ran past ``--limit-s`` (interrupted by an alarm);
- broken: a promise failed (something written on refusal, an accepted value that does not read back);
- verify failures: ``Workbench.verify()`` found problems (run every 50 cases and at the end).

The exit status is 1 when anything but accepted and refused happened.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WEIGHTS = {"ids_times": 20, "store_events": 8, "memory_remember": 10, "memory_recall": 8, "memory_change": 8,
           "ingest_email": 14, "ingest_csv": 6, "ingest_note": 6, "ingest_business_toml": 4, "aios_toml": 8,
           "approvals": 8}
"""Share of the cases each target gets."""

VERIFY_EVERY = 50
FRESH_EVERY = 500
"""Cases after which a target's workspace is replaced by a new one (keeps stores, and so each case, small)."""


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` in the code under test can swallow it."""


@dataclass
class Tally:
    name: str
    outcomes: Counter[str] = field(default_factory=Counter)
    undocumented: dict[str, str] = field(default_factory=dict)
    """``type @ file:line`` -> one example case."""
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    slowest: float = 0.0


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "aios_kernel" in f.filename or "/widgets/" in f.filename]
    f = (ours or frames or [None])[-1]
    if f is None:
        return type(exc).__name__
    path = f.filename.split("aios_kernel/")[-1] if "aios_kernel/" in f.filename else os.path.basename(f.filename)
    return f"{type(exc).__name__} @ {path}:{f.lineno}"


def _short(case: Any) -> str:
    from aios_kernel._values import describe

    return describe(case)


def run_target(target: Any, cases: int, limit_s: float, seed: int) -> Tally:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from aios_kernel import AiosError

    from ._targets import Broken

    tally = Tally(target.name)
    state = {"ctx": target.context(), "n": 0}

    def verify() -> None:
        try:
            problems = state["ctx"].verify()
        except Exception as exc:  # noqa: BLE001
            problems = [f"verify raised {_where(exc)}"]
        if problems:
            tally.outcomes["verify failures"] += 1
            tally.problems.extend(problems[:3])

    def alarm(signum: int, frame: Any) -> None:
        raise Hang()

    @hseed(seed)
    @settings(max_examples=cases, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=target.strategy)
    def drive(case: Any) -> None:
        if state["n"] and state["n"] % FRESH_EVERY == 0:
            verify()
            state["ctx"].close()
            state["ctx"] = target.context()
        state["n"] += 1
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        try:
            outcome = target.run(state["ctx"], case) or "accepted"
        except Hang:
            outcome = "hangs"
        except AiosError:
            outcome = "refused"
        except Broken as exc:
            outcome = "broken"
            tally.problems.append(f"{exc} (case {_short(case)})")
        except Exception as exc:  # noqa: BLE001  (what the fuzz is looking for)
            outcome = "undocumented"
            tally.undocumented.setdefault(_where(exc), _short(case))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = time.perf_counter() - start
        tally.slowest = max(tally.slowest, elapsed)
        if outcome != "hangs" and elapsed > limit_s:
            outcome = "hangs"
        tally.outcomes[outcome] += 1
        if outcome == "hangs":
            tally.problems.append(f"a case ran {elapsed:.1f}s (case {_short(case)})")
        if state["n"] % VERIFY_EVERY == 0:
            verify()

    previous = signal.signal(signal.SIGALRM, alarm)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # damaged rows and skipped artifacts are expected under fuzz
            drive()
        verify()
    finally:
        signal.signal(signal.SIGALRM, previous)
        state["ctx"].close()
    tally.seconds = time.perf_counter() - start
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases in all, shared among the targets")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (printed, to rerun a run)")
    parser.add_argument("--limit-s", type=float, default=10.0,
                        help="a case running longer is a hang (the slowest legitimate case, a 1 MB text embedded, takes "
                             "1-2 s; on a machine shared with other work, several times that)")
    parser.add_argument("--only", default="", help="comma-separated target names")
    args = parser.parse_args(argv)

    import atexit
    import shutil
    import tempfile

    # The fuzz workspaces' keys live and die with the run: never in the operator's key folder.
    keys = tempfile.mkdtemp(prefix="aios-fuzz-keys-")
    os.environ["AIOS_KEY_DIR"] = keys
    os.environ.pop("AIOS_KEY", None)
    atexit.register(shutil.rmtree, keys, ignore_errors=True)
    from aios_kernel._models._embedding import load_embedder

    from ._targets import TARGETS

    load_embedder(int8=True)
    chosen = [t for t in TARGETS if not args.only or t.name in args.only.split(",")]
    total = sum(WEIGHTS[t.name] for t in chosen)
    print(f"fuzz: {args.cases:,} cases over {len(chosen)} boundaries, seed {args.seed}, {args.limit_s:g}s per case",
          flush=True)
    tallies = []
    start = time.perf_counter()
    for target in chosen:
        n = max(1, round(args.cases * WEIGHTS[target.name] / total))
        tally = run_target(target, n, args.limit_s, args.seed)
        tallies.append(tally)
        print(f"  {target.name:<22} {sum(tally.outcomes.values()):>6} cases in {tally.seconds:6.1f}s", flush=True)
    wall = time.perf_counter() - start

    cols = ["accepted", "refused", "undocumented", "hangs", "broken", "verify failures"]
    print()
    print(f"{'boundary':<22} {'cases':>6} " + " ".join(f"{c:>12}" for c in cols) + f" {'slowest s':>10} {'time s':>8}")
    sums: Counter[str] = Counter()
    for t in tallies:
        n = sum(v for k, v in t.outcomes.items() if k != "verify failures")
        sums.update(t.outcomes)
        sums["cases"] += n
        print(f"{t.name:<22} {n:>6} " + " ".join(f"{t.outcomes.get(c, 0):>12}" for c in cols)
              + f" {t.slowest:>10.2f} {t.seconds:>8.1f}")
    print(f"{'total':<22} {sums['cases']:>6} " + " ".join(f"{sums.get(c, 0):>12}" for c in cols)
          + f" {max(t.slowest for t in tallies):>10.2f} {wall:>8.1f}")
    bad = False
    for t in tallies:
        for where, example in t.undocumented.items():
            bad = True
            print(f"undocumented in {t.name}: {where}\n    e.g. {example}")
        for problem, times in Counter(t.problems).most_common(10):
            bad = True
            print(f"problem in {t.name}{f' ({times}x)' if times > 1 else ''}: {problem}")
    print(f"\n{len({w for t in tallies for w in t.undocumented})} distinct undocumented exception(s); seed {args.seed}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
