"""Workspaces with approvals waiting, on the template generation tier so runs take a second.

The template tier is a real configured tier (``[models] generator =
"template"``), not a stand-in: these tests are about the widgets, and the
local model's speed is the model layer's business.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.orchestrator.conftest import ledger_lines, make_fast  # noqa: F401  (the execution core's workspace helpers)

TRIAGE_KEY = "widgets-triage"
INVOICING_KEY = "widgets-invoicing"


def seed_approvals(root: Path) -> None:
    """Runs that wait for people: e-mail replies and a quarantine (triage), and October's invoices."""
    from aios_kernel import Workbench

    with Workbench.open(root) as wb:
        wb.submit("inbox_triage", {"limit": 8}, idempotency_key=TRIAGE_KEY)
        wb.submit("invoicing", {"month": "2026-10"}, idempotency_key=INVOICING_KEY)
        wb.run_pending()


def ledger_counts(root: Path) -> Counter[str]:
    """Lines per effect key in the workspace's ledger (the connector's own record of what was done)."""
    path = root / "ledger.jsonl"
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["key"] for line in path.read_text().splitlines() if line.strip())


@pytest.fixture(scope="session")
def approvals_template(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Path:
    root = tmp_path_factory.mktemp("widgets-template") / "ws"
    shutil.copytree(demo_template, root)
    make_fast(root)
    seed_approvals(root)
    return root


@pytest.fixture
def aws(approvals_template: Path, tmp_path: Path) -> Path:
    """A private copy of a workspace with pending approvals."""
    dest = tmp_path / "ws"
    shutil.copytree(approvals_template, dest)
    return dest


@pytest.fixture
def awb(aws: Path) -> Iterator[Any]:
    """The workbench as a kernel has it: with its background worker running (it carries runs on after decisions)."""
    from aios_kernel import Workbench

    w = Workbench.open(aws)
    w.worker.start()
    yield w
    w.close()


@pytest.fixture
def close_widgets() -> Iterator[list[Any]]:
    """Append widgets here; they are closed (and stop polling) after the test."""
    made: list[Any] = []
    yield made
    for w in made:
        w.close()
