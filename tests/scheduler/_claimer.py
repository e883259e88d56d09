"""A scheduler's deciding half in its own process: claims the ticks due at each simulated minute (for the race test)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta

from aios_kernel import _components  # noqa: F401
from aios_kernel._scheduler import PipelineRuns, Schedules
from aios_kernel._store import Store


def main(store_path: str, start: str, minutes: int, out: str) -> None:
    store = Store.open(store_path)
    runs, book = PipelineRuns(store), Schedules(store)
    t0 = datetime.fromisoformat(start)
    claimed = []
    for i in range(minutes):
        now = t0 + timedelta(minutes=i)
        for st in book.list():
            claimed += [(r.id, r.tick_key) for r in runs.claim_due(st, now).pending]
    with open(out, "w") as f:
        json.dump(claimed, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
