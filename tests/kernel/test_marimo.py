"""The workbench in marimo: the app's cells open the workspace through the public API."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_marimo_app_runs_against_a_workspace(demo_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_WORKSPACE", str(demo_ws))
    spec = importlib.util.spec_from_file_location("workbench_marimo", REPO / "notebooks" / "workbench_marimo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, defs = module.app.run()
    assert defs["status"].counts["projects"] == 6
    assert defs["projects"].height == 6
    assert str(defs["wb"].paths.root) == os.path.realpath(demo_ws)
    defs["wb"].close()
