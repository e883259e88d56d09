"""The %aios widget commands, and the front-end files: packaged, offline, themed, never innerHTML."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON

WIDGETS = Path(__file__).resolve().parents[2] / "widgets"


@pytest.fixture
def magic(awb, monkeypatch):
    from aios_kernel._kernel import _extension

    monkeypatch.setitem(_extension._STATE, "wb", awb)
    return _extension.aios_magic


def test_widget_commands_return_widgets(magic, awb, close_widgets):
    from aios_kernel.widgets import ApprovalInbox, CostMeter, MemoryExplorer, TraceTimeline

    inbox = magic("inbox")
    explorer = magic("explore")
    bare_memory = magic("memory")
    timeline = magic("timeline")
    meter = magic("costs")
    close_widgets.extend([inbox, explorer, bare_memory, timeline, meter])
    assert isinstance(inbox, ApprovalInbox) and inbox.pending_count == len(awb.approvals.pending())
    assert isinstance(explorer, MemoryExplorer) and isinstance(bare_memory, MemoryExplorer)
    assert isinstance(timeline, TraceTimeline) and timeline.run_id == awb.runs(limit=1)[0].id
    assert isinstance(meter, CostMeter) and meter.data["total_runs"] == len(awb.runs(limit=1000))


def test_shared_names_keep_their_other_meanings(magic):
    import polars as pl

    from aios_kernel._kernel._commands import COMMANDS

    by_day = magic("costs day")
    assert isinstance(by_day, pl.DataFrame) and "day" in by_day.columns
    assert "with arguments" in COMMANDS["costs"].help and "with arguments" in COMMANDS["memory"].help
    assert "memory" in str(magic("memory stats"))


def test_commands_without_a_workspace_return_a_widget_with_the_message(tmp_path, monkeypatch, close_widgets):
    from aios_kernel._kernel import _extension

    monkeypatch.setitem(_extension._STATE, "wb", None)
    monkeypatch.setenv("AIOS_WORKSPACE", str(tmp_path / "nowhere"))
    w = _extension.aios_magic("inbox")
    close_widgets.append(w)
    assert "No workspace is open" in w.error and "%aios open" in w.error


def test_loading_the_extension_does_not_import_the_widgets():
    code = ("import sys, aios_kernel; from aios_kernel._kernel._commands import COMMANDS; "
            "assert {'inbox', 'explore', 'timeline', 'costs'} <= set(COMMANDS); "
            "heavy = [m for m in ('anywidget', 'ipywidgets', 'aios_kernel.widgets', 'polars', 'matplotlib') if m in sys.modules]; "
            "print(heavy); assert not heavy")
    out = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout


def test_widgets_are_anywidgets_with_their_files_inlined():
    import anywidget

    from aios_kernel.widgets import ApprovalInbox, CostMeter, MemoryExplorer, TraceTimeline

    for cls, name in ((ApprovalInbox, "inbox"), (MemoryExplorer, "memory"), (TraceTimeline, "trace"), (CostMeter, "costs")):
        assert issubclass(cls, anywidget.AnyWidget)
        esm, css = str(cls._esm), str(cls._css)
        assert (WIDGETS / f"{name}.js").read_text() in esm and (WIDGETS / "common.js").read_text() in esm
        assert (WIDGETS / f"{name}.css").read_text() in css and "export default" in esm


@pytest.mark.parametrize("path", sorted(p.name for p in WIDGETS.glob("*.js")))
def test_front_end_modules_are_offline_and_never_inject_html(path):
    text = (WIDGETS / path).read_text()
    assert not re.search(r"^\s*import\s", text, re.M), "no imports: the module is self-contained"
    assert "http://" not in text and "https://" not in text, "nothing is fetched at run time"
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML\(|document\.write\(", text), \
        "data goes in as text, never as HTML"


@pytest.mark.parametrize("path", sorted(p.name for p in WIDGETS.glob("*.css")))
def test_styles_follow_the_jupyterlab_theme_with_fallbacks(path):
    text = (WIDGETS / path).read_text()
    for var in re.findall(r"var\((--jp-[\w-]+)([^)]*)\)", text):
        assert var[1].startswith(","), f"{var[0]} needs a fallback for hosts without JupyterLab's theme"
    assert "http" not in text


def test_the_package_ships_its_front_end_files():
    import tomllib

    cfg = tomllib.loads((WIDGETS.parent / "pyproject.toml").read_text())
    data = cfg["tool"]["setuptools"]["package-data"]["aios_kernel.widgets"]
    assert "*.js" in data and "*.css" in data
    assert {p.name for p in WIDGETS.glob("*.js")} >= {"common.js", "inbox.js", "memory.js", "trace.js", "costs.js"}
