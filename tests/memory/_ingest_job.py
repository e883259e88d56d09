"""An ingest run as its own process (the crash test kills it halfway, then reruns it)."""

from __future__ import annotations

import sys

from aios_kernel import Workbench


def items(n: int) -> list[dict]:
    return [{"text": f"Turn {i}: the courier reached depot {i % 13} at {6 + i % 12} o'clock with parcel {i}.",
             "meta": {"dia_id": f"D{i // 20 + 1}:{i % 20 + 1}", "session": f"s{i // 20}"}} for i in range(n)]


if __name__ == "__main__":
    root, n = sys.argv[1], int(sys.argv[2])
    with Workbench.open(root) as wb:
        refs = wb.memory.remember_many(items(n), kind="turn", progress=False)
        print(f"done {len(refs)}", flush=True)
