"""A subprocess that writes to a store: used by the concurrency and crash tests.

Usage: python -m tests.store._writer STORE TAG COUNT
Each iteration writes one task and its event in one transaction, then
prints the id it committed (flushed), so the parent knows what must survive.
"""

import sys

from aios_kernel import _components  # noqa: F401
from aios_kernel._entities import upsert
from aios_kernel._store import Store

path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Store.open(path) as store:
    for i in range(count):
        big = "x" * (i % 7) * 2000  # vary the size so writes span pages
        upsert(store, "tasks", {"id": f"ta_{tag}_{i}", "title": f"{tag} {i} {big}", "status": "todo"}, actor=f"writer:{tag}")
        print(f"ta_{tag}_{i}", flush=True)
