"""The extension in a real IPython kernel (nbclient): load, magics, reprs, unload, restart."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow


def _run(cells: list[str], workspace: Path, *, allow_errors: bool = False, env: dict[str, str] | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    old = os.environ.get("AIOS_WORKSPACE")
    os.environ["AIOS_WORKSPACE"] = str(workspace)
    try:
        NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=allow_errors).execute()
    finally:
        if old is None:
            os.environ.pop("AIOS_WORKSPACE", None)
        else:
            os.environ["AIOS_WORKSPACE"] = old
    return nb


def _text(cell: nbformat.NotebookNode, mime: str = "text/plain") -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out and mime in out.data:
            parts.append(out.data[mime])
    return "\n".join(parts)


def test_load_binds_wb_registers_magics_and_stays_light(demo_ws: Path) -> None:
    nb = _run(
        [
            "import sys, time\nt0 = time.perf_counter()\n%load_ext aios_kernel\nload_s = time.perf_counter() - t0",
            "wb",
            "%aios status",
            "%aios help",
            "heavy = sorted(m for m in ('torch', 'transformers', 'faiss', 'dask', 'polars', 'sentence_transformers') if m in sys.modules)\nprint('heavy:', heavy)",
            "%aios verify",
        ],
        demo_ws,
    )
    assert "Workbench" in _text(nb.cells[1]) and "aios-status" in _text(nb.cells[1], "text/html")
    status_html = _text(nb.cells[2], "text/html")
    assert "clients" in status_html and "Lindgren Advisory" in status_html
    help_text = _text(nb.cells[3])
    assert "%aios status" in help_text and "%aios help" in help_text
    assert "heavy: []" in _text(nb.cells[4])
    assert "OK" in _text(nb.cells[5])


def test_missing_workspace_prints_a_message_not_a_traceback(tmp_path: Path) -> None:
    nb = _run(["%load_ext aios_kernel", "print('wb' in globals())", "%aios status"], tmp_path / "absent")
    assert "aios init" in _text(nb.cells[0])
    assert _text(nb.cells[1]).strip() == "False"
    assert "no workspace is open" in _text(nb.cells[2])
    assert not any(o.output_type == "error" for c in nb.cells for o in c.outputs)


def test_unload_closes_and_reload_gives_the_same_state_from_disk(demo_ws: Path) -> None:
    nb = _run(
        [
            "%load_ext aios_kernel",
            "from aios_kernel._entities import upsert\n"
            "upsert(wb.store, 'tasks', {'id': 'ta_kernel', 'title': 'written in the kernel', 'status': 'todo'}, actor='operator')\n"
            "before = wb.status().events",
            "%unload_ext aios_kernel",
            "print('wb' in globals())",
            "%load_ext aios_kernel",
            "print(wb.status().events == before, wb.records('tasks')[-1]['title'])",
        ],
        demo_ws,
    )
    assert _text(nb.cells[3]).strip() == "False"
    assert _text(nb.cells[5]).strip() == "True written in the kernel"


def test_killed_kernel_loses_nothing_committed(demo_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kill the kernel right after a write: a new kernel sees exactly what was committed."""
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("AIOS_WORKSPACE", str(demo_ws))
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.execute_interactive(
            "%load_ext aios_kernel\nfrom aios_kernel._entities import upsert\n"
            "for i in range(20):\n    upsert(wb.store, 'tasks', {'id': f'ta_k{i}', 'title': str(i), 'status': 'todo'}, actor='operator')\n",
            timeout=60,
        )
        assert reply["content"]["status"] == "ok"
    finally:
        km.shutdown_kernel(now=True)  # killed: no clean close of the store
        kc.stop_channels()
    from aios_kernel import Workbench

    with Workbench.open(demo_ws) as wb:
        titles = {r["id"] for r in wb.records("tasks")}
        assert {f"ta_k{i}" for i in range(20)} <= titles
        assert wb.verify().ok
