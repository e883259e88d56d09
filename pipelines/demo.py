"""``make demo``: the morning pipeline on embedded defaults.

Creates (or reuses) a workspace seeded from ``data/``, defines the ``morning``
schedule (``notebooks/daily_ops.ipynb`` at 07:00 in the workspace's zone) if
it is missing, runs it now as a pipeline run (recorded in the store, decided
approvals carried out first), and prints what was ingested, what is planned,
what waits for approval, what it cost, and the morning view.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from aios_kernel._evidence import INJECTION
from aios_kernel._workbench import Workbench
from aios_kernel._workspace import default_path
from ._summary import execution_lines
from .scheduler import run_pipeline

SCHEDULE = "morning"


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
        if SCHEDULE not in wb.schedules:
            wb.schedules.add(SCHEDULE, "daily_ops.ipynb", "0 7 * * *", timezone=wb.config.get("workspace.timezone", "UTC"))
        print(f"[2/3] running the {SCHEDULE} pipeline (notebooks/daily_ops.ipynb) headless")
        seen: set[int] = set()

        def progress(run: object) -> None:
            cell = getattr(run, "progress", None)
            if cell and cell[1] and cell[0] not in seen and cell[0] % 5 == 0:
                seen.add(cell[0])
                print(f"      cell {cell[0]} of {cell[1]}", flush=True)

        run = run_pipeline(wb, SCHEDULE, on_progress=progress)
        if runs_dir is not None and run.folder:
            runs_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(run.folder, runs_dir / Path(run.folder).name)
        print(f"      executed notebook: {run.executed}")
        print(f"      HTML report:       {run.html}")
        print(f"      {run.duration_s or 0:.1f}s, {'ok' if run.ok else run.status.upper() + ': ' + str(run.error)}")
        if run.resumed.get("tasks_run") or run.resumed.get("reconciled"):
            print(f"      carried forward first: {run.resumed.get('tasks_run', 0)} task(s) run after your decisions")
    print("[3/3] summary")
    with Workbench.open(root) as wb:
        for line in summary_lines(wb):
            print(line)
        print("Morning view:")
        for line in wb.morning().lines():
            print("  " + line)
    print("Decide in `make lab` (notebooks/inbox.ipynb) or with `aios approve`, then run `make demo` again: the approved "
          "actions go out once, before the notebook runs.")
    return 0 if run.ok else 1


if __name__ == "__main__":
    sys.exit(main())
