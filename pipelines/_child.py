"""One attempt of a pipeline run: papermill in a process of its own.

``python -m aios_kernel.pipelines._child SPEC.json``. The executor that starts
this process watches it (time limit, cancellation, death); this process
reports which code cell is executing and which kernel runs it, writes the
executed notebook after every cell (so a killed run keeps what it did), and
leaves ``result.json`` with how it ended. If its executor dies it kills its
kernel and exits without a result: the next scheduler start records the run
``crashed``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

_KERNELS: list[int] = []


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            _kill_kernels()
            os._exit(70)
        time.sleep(0.5)


def _kill_kernels() -> None:
    from aios_kernel._scheduler import kill_group

    for pid in list(_KERNELS):
        kill_group(pid)


def _write_result(folder: Path, result: dict[str, Any]) -> None:
    tmp = folder / "result.json.partial"
    tmp.write_text(json.dumps(result, indent=2), encoding="utf-8")
    os.replace(tmp, folder / "result.json")


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    folder = Path(spec["folder"])
    threading.Thread(target=_watch_parent, args=(spec["parent_pid"],), daemon=True).start()
    # What the kernel inherits: the workspace, figures drawn inline (so every plot reaches the notebook and its
    # HTML as an image), and no library chatter in the report.
    os.environ["AIOS_WORKSPACE"] = spec["workspace"]
    os.environ["AIOS_PIPELINE_RUN"] = spec["run_id"]
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["PYTHONWARNINGS"] = "ignore"

    from ._execute import light_nbformat

    light_nbformat()
    import nbformat
    import papermill
    import psutil
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from aios_kernel import _components  # noqa: F401
    from aios_kernel._scheduler import PipelineRuns
    from aios_kernel._store import Store

    nb = nbformat.read(spec["notebook"], as_version=4)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    store = Store.open(spec["store"], create=False)
    runs = PipelineRuns(store)
    # papermill adds one cell for the injected parameters when it has any
    total = len(code_cells) + (1 if spec["parameters"] else 0)
    seen = {"n": 0}

    def on_cell_start(cell: Any = None, cell_index: int = 0, **_: Any) -> None:
        if not _KERNELS:
            _KERNELS.extend(p.pid for p in psutil.Process().children() if p.pid not in _KERNELS)
            runs.progress(spec["run_id"], kernel_pids=list(_KERNELS))
        if getattr(cell, "cell_type", "code") == "code":
            seen["n"] += 1
            runs.progress(spec["run_id"], cell=seen["n"], cells=total)

    result: dict[str, Any] = {"status": "succeeded", "cells": total}
    try:
        papermill.execute_notebook(
            spec["notebook"], spec["executed"], parameters=spec["parameters"], kernel_name=spec["kernel_name"],
            cwd=spec["cwd"], progress_bar=False, log_output=False, execution_timeout=max(1, int(spec["timeout_s"])),
            start_timeout=120, on_cell_start=on_cell_start)
    except papermill.PapermillExecutionError as exc:
        result.update(status="failed", error=f"cell {exc.cell_index}: {exc.ename}: {exc.evalue}".strip(),
                      error_cell=exc.cell_index, ename=exc.ename)
    except DeadKernelError as exc:
        result.update(status="crashed", error=f"the kernel died at code cell {seen['n']} of {total} ({exc})".strip(),
                      error_cell=seen["n"])
    except CellTimeoutError:
        result.update(status="timed_out", error=f"code cell {seen['n']} ran past the time limit of {spec['timeout_s']:g} s",
                      error_cell=seen["n"])
    except Exception as exc:  # noqa: BLE001  (any other failure is the run's outcome, recorded, not a traceback lost)
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc()[-4000:])
    finally:
        _kill_kernels()
        store.close()
    _write_result(folder, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
