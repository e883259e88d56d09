"""The store's write path: events with projections per second, one writer vs two processes.

Side by side in one run: a single process appending N entity upserts (each
one event + its projection, one transaction each), and two processes doing
the same on one file at once (the multi-writer case of a kernel and a
papermill run). Also the cost of the hash chain: verify time per event.
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from pathlib import Path


def _write(path: str, n: int, tag: str) -> None:
    from aios_kernel import _components  # noqa: F401
    from aios_kernel._entities import upsert
    from aios_kernel._store import Store

    with Store.open(path) as store:
        for i in range(n):
            upsert(store, "tasks", {"id": f"ta_{tag}_{i}", "title": f"task {i}", "status": "todo"}, actor="bench")


def main(quick: bool) -> None:
    from aios_kernel import _components  # noqa: F401
    from aios_kernel._store import Store

    n = 300 if quick else 2000
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.db"
        Store.open(one).close()
        t0 = time.perf_counter()
        _write(str(one), n, "a")
        single = time.perf_counter() - t0

        two = Path(tmp) / "two.db"
        Store.open(two).close()
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=_write, args=(str(two), n // 2, tag)) for tag in ("a", "b")]
        t0 = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        double = time.perf_counter() - t0
        with Store.open(two) as store:
            written = store.scalar("SELECT count(*) FROM tasks")
            t0 = time.perf_counter()
            report = store.verify()
            verify_s = time.perf_counter() - t0
    print(f"{'case':<38}{'events':>8}{'seconds':>10}{'events/s':>10}")
    print(f"{'one process':<38}{n:>8}{single:>10.2f}{n / single:>10.0f}")
    print(f"{'two processes, same file (incl. spawn)':<38}{written:>8}{double:>10.2f}{written / double:>10.0f}")
    print(f"ratio two-process/one-process throughput: {(written / double) / (n / single):.2f}")
    print(f"verify (integrity + hash chain): {verify_s * 1e6 / max(report.events, 1):.1f} us/event, ok={report.ok}")
