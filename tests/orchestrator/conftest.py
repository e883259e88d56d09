"""Fixtures for the execution core: demo workspaces on the template tier, fast retries."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks._fast import make_fast

__all__ = ["ledger_lines", "make_fast"]


@pytest.fixture
def fast_ws(demo_ws: Path) -> Path:
    return make_fast(demo_ws)


@pytest.fixture
def twb(fast_ws: Path) -> Iterator["Workbench"]:  # noqa: F821
    """A demo workbench whose generator is the template tier."""
    from aios_kernel import Workbench

    w = Workbench.open(fast_ws)
    yield w
    w.close()


@pytest.fixture
def empty_wb(tmp_path: Path) -> Iterator["Workbench"]:  # noqa: F821
    """An empty workspace (no demo data) on fast settings."""
    from aios_kernel import Workbench

    Workbench.init(tmp_path / "empty").close()
    make_fast(tmp_path / "empty")
    w = Workbench.open(tmp_path / "empty")
    yield w
    w.close()


def ledger_lines(root: Path) -> list[dict]:
    import json

    path = root / "ledger.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def copy_ws(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct, loaded once for the whole test session (and warmed up)."""
    from aios_kernel._models._local import load_local

    lm = load_local()
    lm.generate([("", "Say hello.")], max_new_tokens=2)
    return lm


@pytest.fixture
def lm_wb(demo_ws: Path, smollm2) -> Iterator["Workbench"]:  # noqa: F821
    """A demo workbench on the real local model (keyword retrieval, rules router)."""
    from aios_kernel import Workbench

    make_fast(demo_ws)
    cfg = demo_ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace('generator = "template"', 'generator = "SmolLM2-135M-Instruct"'))
    w = Workbench.open(demo_ws)
    yield w
    w.close()
