"""Shared fixtures: fresh stores and workspaces on real SQLite files."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Workspace keys of test stores go to a folder of this test session, never to the real
# ~/.config/aios/keys; subprocesses (the CLI, writers, notebooks) inherit the setting.
KEY_DIR = Path(tempfile.mkdtemp(prefix="aios-test-keys-"))
os.environ["AIOS_KEY_DIR"] = str(KEY_DIR)
os.environ.pop("AIOS_KEY", None)
os.environ["AIOS_KEYRING"] = "off"  # never the desktop keyring of whoever runs the tests (one test turns it on)
atexit.register(shutil.rmtree, KEY_DIR, ignore_errors=True)

# Notebooks there are inputs of tests (one fails on purpose), not tests themselves.
collect_ignore = ["fixtures"]

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
PYTHON = REPO / ".venv" / "bin" / "python"


@pytest.fixture
def store(tmp_path: Path) -> Iterator["Store"]:  # noqa: F821
    """A fresh store with every component's tables."""
    from aios_kernel import _components  # noqa: F401
    from aios_kernel._store import Store

    s = Store.open(tmp_path / "store.db")
    yield s
    s.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo workspace built per test session; copy it with ``demo_ws``."""
    from aios_kernel import Workbench

    root = tmp_path_factory.mktemp("demo-template") / "ws"
    Workbench.init(root, demo=True).close()
    return root


@pytest.fixture
def demo_ws(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace (cheap: a file copy, no re-ingest)."""
    dest = tmp_path / "ws"
    shutil.copytree(demo_template, dest)
    return dest


@pytest.fixture
def wb(demo_ws: Path) -> Iterator["Workbench"]:  # noqa: F821
    from aios_kernel import Workbench

    w = Workbench.open(demo_ws)
    yield w
    w.close()
