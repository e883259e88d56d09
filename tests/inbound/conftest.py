"""Fixtures for the inbound tests: the hand-written attack and look-alike messages under ``fixtures/``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def cases(name: str) -> list[dict[str, Any]]:
    """The ``[[case]]`` tables of ``fixtures/NAME.toml``."""
    with (FIXTURES / f"{name}.toml").open("rb") as f:
        return list(tomllib.load(f)["case"])


def params(name: str, where: Any = None) -> list[Any]:
    """``pytest.param`` per case, with the case id as the test id."""
    import pytest

    return [pytest.param(c, id=c["id"]) for c in cases(name) if where is None or where(c)]
