"""`make demo` from a fresh clone, as a new user would run it (set-up included)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_make_demo_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "VIRTUAL_ENV", "AIOS_"))}
    env["AIOS_KEY_DIR"] = os.environ["AIOS_KEY_DIR"]  # the session's key folder, never the real ~/.config/aios/keys
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p)
    result = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert "setup done" in out  # the clone set itself up
    assert "summary" in out and "ingested: 8 clients" in out
    assert "rejected: emails/30-malformed.eml" in out
    runs = sorted((clone / "workspace" / "runs").glob("*-daily_ops"))
    assert len(runs) == 1
    run = json.loads((runs[0] / "run.json").read_text())
    assert run["ok"] is True
    html = (runs[0] / "daily_ops.html").read_text()
    assert "Hours logged vs budget" in html or "image/png" in html
    executed = json.loads((runs[0] / "daily_ops.ipynb").read_text())
    errors = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    # every figure reaches the report as an image, never as "<Figure size ...>" text; no library warnings leak in
    figures = [c for c in executed["cells"] if c["cell_type"] == "code"
               and ("plt.subplots" in "".join(c["source"]) or "wb.timeline(" in "".join(c["source"]))]
    assert len(figures) == 2
    for cell in figures:
        assert any("image/png" in o.get("data", {}) for o in cell["outputs"]), "".join(cell["source"])[:80]
    streams = "".join("".join(o.get("text", "")) for c in executed["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []) if o["output_type"] == "stream")
    assert "loss_type" not in streams and "Warning" not in streams
    assert "Morning view:" in out and run["status"] == "succeeded"

    # A second `make demo` reuses the set-up and the workspace: no new install, a second run.
    again = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "setup done" not in again.stdout
    assert len(list((clone / "workspace" / "runs").glob("*-daily_ops"))) == 2
