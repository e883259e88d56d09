"""Running a notebook headless with papermill into ``runs/<timestamp>/``.

Each run writes the executed notebook and an HTML rendering (static plots
included, since no widget state is live there) beside a ``run.json`` that
says what ran, with which parameters, how long it took and whether it failed.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aios_kernel._ids import iso, utcnow
from aios_kernel._resources import notebooks_dir
from aios_kernel._workspace import private_tree


@dataclass
class NotebookRun:
    """The outcome of one headless notebook run."""

    notebook: str
    folder: Path
    executed: Path
    html: Path | None
    parameters: dict[str, Any]
    started_at: str
    seconds: float
    ok: bool
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(folder=str(self.folder), executed=str(self.executed), html=str(self.html) if self.html else None)
        return d


def run_notebook(notebook: str | Path, *, workspace: Path, runs_dir: Path, parameters: dict[str, Any] | None = None,
                 kernel_name: str = "python3", timeout_s: int = 600) -> NotebookRun:
    """Execute ``notebook`` with ``workspace`` as its parameter; never raises for a failing cell."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    source = Path(notebook)
    if not source.is_absolute() and not source.exists():
        source = notebooks_dir() / source
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    folder = runs_dir / f"{stamp}-{source.stem}"
    folder.mkdir(parents=True, exist_ok=False)
    executed = folder / source.name
    params = {"workspace": str(workspace), **(parameters or {})}
    started, t0 = iso(), time.perf_counter()
    error = None
    env_before = os.environ.get("AIOS_WORKSPACE")
    os.environ["AIOS_WORKSPACE"] = str(workspace)
    try:
        papermill.execute_notebook(str(source), str(executed), parameters=params, kernel_name=kernel_name,
                                   cwd=str(source.parent), progress_bar=False, execution_timeout=timeout_s)
    except papermill.PapermillExecutionError as exc:
        error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    finally:
        if env_before is None:
            os.environ.pop("AIOS_WORKSPACE", None)
        else:
            os.environ["AIOS_WORKSPACE"] = env_before
    html_path = None
    if executed.exists():
        body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
        html_path = folder / f"{source.stem}.html"
        html_path.write_text(body, encoding="utf-8")
    run = NotebookRun(source.name, folder, executed, html_path, params, started, time.perf_counter() - t0, error is None, error)
    (folder / "run.json").write_text(json.dumps(run.to_json(), indent=2), encoding="utf-8")
    private_tree(folder)
    return run
