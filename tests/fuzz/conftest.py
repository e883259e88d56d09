"""The fuzz tests run on the real embedding model, loaded once per session."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def minilm() -> Any:
    from aios_kernel._models._embedding import load_embedder

    load_embedder(int8=True)
    return load_embedder()
