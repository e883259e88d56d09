"""Fixtures for the memory tests: fresh workspaces on real SQLite, the real MiniLM.

The embedding model is loaded once per test session (``load_embedder``
caches it per process); each test gets its own empty workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def minilm() -> Any:
    """The real all-MiniLM-L6-v2 (and its int8 form, the default), loaded once for the session."""
    from aios_kernel._models._embedding import load_embedder

    load_embedder(int8=True)
    return load_embedder()


@pytest.fixture
def mwb(tmp_path: Path, minilm: Any) -> Iterator[Any]:
    """An empty workspace (no demo data) whose memory uses the real model."""
    from aios_kernel import Workbench

    wb = Workbench.init(tmp_path / "ws")
    yield wb
    wb.close()


@pytest.fixture
def mem(mwb: Any) -> Any:
    return mwb.memory


def write_toml(root: Path, extra: str) -> None:
    """Append settings to a workspace's aios.toml."""
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + extra + "\n", encoding="utf-8")
