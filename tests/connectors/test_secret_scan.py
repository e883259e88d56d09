"""A full workflow with real credentials, then every place a value could leak is searched for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.connectors.conftest import PASSWORD, Smtp, email_settings
from tests.orchestrator.conftest import make_fast

pytestmark = pytest.mark.slow

NOTEBOOK = """{
 "cells": [
  {"cell_type": "code", "execution_count": null, "id": "p", "metadata": {"tags": ["parameters"]}, "outputs": [],
   "source": ["workspace = \\"\\""]},
  {"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [],
   "source": ["import os\\n", "os.environ['AIOS_WORKSPACE'] = workspace\\n", "%load_ext aios_kernel\\n", "%aios status"]},
  {"cell_type": "code", "execution_count": null, "id": "b", "metadata": {}, "outputs": [],
   "source": ["print(wb.connectors.frame())\\n", "print(wb.connectors.get('email'))\\n", "print(wb.secrets.get('smtp'))\\n",
              "print(wb.runs())\\n", "wb.approvals.all()[:3]"]}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
 "nbformat": 4, "nbformat_minor": 5
}
"""


def test_no_secret_value_anywhere_after_a_full_workflow_with_a_real_login(demo_ws: Path, smtp_auth: Smtp, tmp_path: Path) -> None:
    from aios_kernel import Workbench

    make_fast(demo_ws)
    email_settings(demo_ws, smtp_auth, auth=True)
    logs = tmp_path / "logs"
    env = {**os.environ, "AIOS_LOG_DIR": str(logs), "AIOS_WORKSPACE": str(demo_ws)}
    aios = str(REPO / ".venv" / "bin" / "aios")
    stored = subprocess.run([aios, "secrets", "set", "smtp"], input=PASSWORD + "\n", capture_output=True, text=True, env=env,
                            timeout=300)
    assert stored.returncode == 0, stored.stderr
    seen = [stored.stdout, stored.stderr]

    with Workbench.open(demo_ws) as wb:
        run = wb.run("inbox_triage", {"limit": 8}, idempotency_key="secret-scan")
        wb.approvals.approve_all()
        wb.run_pending(run_id=run.id)
        seen += [repr(wb), str(wb.status()), wb.status()._repr_html_(), repr(wb.connectors.get("email")),
                 str(wb.connectors.frame()), repr(wb.secrets), repr(wb.secrets.get("smtp")), str(wb.runs()),
                 str(wb.trace(run.id)), str(wb.narrative(run.id)), str(wb.approvals.all()), str(run.effects)]
        assert any(e["status"] == "applied" for e in run.effects)
    assert len(smtp_auth.messages) >= 1  # the login with the secret really happened

    # a wrong password too: its error travels through the task, the trace and the CLI
    with Workbench.open(demo_ws) as wb:
        wb.secrets.set("smtp", "wrong-" + PASSWORD)
        run2 = wb.run("meeting_followup", {"as_of": "2026-11-20"}, idempotency_key="secret-scan-2")
        wb.approvals.approve_all()
        wb.run_pending(run_id=run2.id)
        seen += [str(run2.tasks), str(wb.trace(run2.id)), str(wb.connectors.frame())]

    for args in (["status"], ["runs"], ["approvals"], ["trace", run.id], ["trace", run2.id], ["verify"], ["secrets", "list"]):
        out = subprocess.run([aios, *args, "-w", str(demo_ws)], capture_output=True, text=True, env=env, timeout=300)
        seen += [out.stdout, out.stderr]

    nb = tmp_path / "leak.ipynb"
    nb.write_text(NOTEBOOK)
    executed = tmp_path / "leak-out.ipynb"
    done = subprocess.run([sys.executable, "-m", "papermill", str(nb), str(executed), "-p", "workspace", str(demo_ws),
                           "-k", "python3", "--no-progress-bar"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    seen.append(executed.read_text())

    for text in seen:
        assert PASSWORD not in text
    for root in (demo_ws, logs):
        for path in root.rglob("*") if root.exists() else []:
            if path.is_file():
                assert PASSWORD.encode() not in path.read_bytes(), path
