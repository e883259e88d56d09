"""Every boundary under generated hostile input: documented errors only, nothing written on refusal, no hang,
and the store verifies after every case (``make fuzz`` runs the same targets with many more cases)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from aios_kernel import AiosError

from ._targets import TARGETS, Target

CASE_LIMIT_S = 10.0
"""A case slower than this is a hang (the slowest legitimate case, a 1 MB text embedded on a busy machine, takes ~1 s)."""

EXAMPLES = {"ids_times": 300, "store_events": 80, "memory_remember": 40, "memory_recall": 40, "memory_change": 40,
            "ingest_email": 50, "ingest_csv": 30, "ingest_note": 30, "ingest_business_toml": 25, "aios_toml": 100,
            "approvals": 20}
"""Examples per target in ``make test``: the whole module stays within about a minute on two busy cores."""


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_a_boundary_holds_under_generated_input(target: Target, minilm: Any) -> None:
    ctx = target.context()

    @settings(max_examples=EXAMPLES[target.name], deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=target.strategy)
    def check(case: Any) -> None:
        start = time.perf_counter()
        try:
            target.run(ctx, case)
        except AiosError:
            pass  # documented: the promise that nothing was written is checked by the target
        elapsed = time.perf_counter() - start
        assert elapsed < CASE_LIMIT_S, f"one case took {elapsed:.1f}s"
        assert ctx.verify() == []

    try:
        check()
    finally:
        ctx.close()


def test_every_boundary_has_a_target_and_an_example_count() -> None:
    names = [t.name for t in TARGETS]
    assert len(set(names)) == len(names) == len(EXAMPLES) and set(names) == set(EXAMPLES)
