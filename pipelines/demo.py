"""``make demo``: the main job on embedded defaults.

Creates (or reuses) a workspace seeded from ``data/``, runs
``notebooks/daily_ops.ipynb`` headless, and prints what was ingested, what
is planned, what waits for approval and what it cost.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aios_kernel._evidence import INJECTION
from aios_kernel._workbench import Workbench
from aios_kernel._workspace import default_path
from ._summary import execution_lines
from .runner import run_notebook


def summary_lines(wb: Workbench) -> list[str]:
    """The operator's morning summary of a workspace, one fact a line."""
    status = wb.status()
    lines = [f"Workspace {status.name!r}: {status.events} events in the store"]
    c = status.counts
    lines.append(f"  ingested: {c['clients']} clients, {c['contacts']} contacts, {c['projects']} projects, "
                 f"{c['artifacts']} artifacts, {c['time_entries']} time entries")
    emails = wb.records.emails()
    flagged = sum(INJECTION in (e["meta"].get("flags") or ()) for e in emails)
    emails = len(emails)
    lines.append(f"  inbox: {emails} e-mails ({flagged} flagged as suspicious)")
    for path, error in status.rejected:
        lines.append(f"  rejected: {path}: {error}")
    lines.extend(execution_lines(wb))
    return lines


def main(workspace: Path | None = None, runs_dir: Path | None = None) -> int:
    root = (workspace or default_path()).resolve()
    print(f"[1/3] workspace {root}")
    with Workbench.init(root, demo=True) as wb:
        runs = runs_dir or wb.paths.runs
    print("[2/3] running notebooks/daily_ops.ipynb headless")
    run = run_notebook("daily_ops.ipynb", workspace=root, runs_dir=runs)
    print(f"      executed notebook: {run.executed}")
    print(f"      HTML report:       {run.html}")
    print(f"      {run.seconds:.1f}s, {'ok' if run.ok else 'FAILED: ' + str(run.error)}")
    print("[3/3] summary")
    with Workbench.open(root) as wb:
        for line in summary_lines(wb):
            print(line)
    print("Open it: `make lab`, then notebooks/daily_ops.ipynb (or the HTML report above).")
    return 0 if run.ok else 1


if __name__ == "__main__":
    sys.exit(main())
