"""``pip install .`` (not editable) runs the demo without the checkout: notebooks and data ship in the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_a_wheel_installed_outside_the_checkout_runs_init_and_demo(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)], check=True,
                   capture_output=True, timeout=600)
    (wheel,) = wheels.glob("aios_workbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "aios_kernel/notebooks/daily_ops.ipynb" in names and "aios_kernel/data/emails/01-mahler-proposal.eml" in names
    assert "aios_kernel/notebooks/conftest.py" not in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    # The dependencies come from the test's own environment (installing torch again would take minutes);
    # a .pth line adds that site-packages folder, whose own .pth files (the editable install) are not read.
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    Path(site, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True,
                   timeout=300)

    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "AIOS_WORKSPACE")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    # ... and so do the data files those packages install under the prefix (nbconvert's HTML templates)
    env["JUPYTER_PATH"] = str(Path(sysconfig.get_paths()["data"]) / "share" / "jupyter")
    where = subprocess.run([str(py), "-c", "import aios_kernel, aios_kernel.widgets; print(aios_kernel.__file__)"],
                           cwd=away, env=env, capture_output=True, text=True, check=True).stdout
    assert str(REPO) not in where and site in where
    aios = str(venv / "bin" / "aios")
    init = subprocess.run([aios, "init", str(away / "ws"), "--demo"], cwd=away, env=env, capture_output=True, text=True,
                          timeout=600)
    assert init.returncode == 0, init.stderr[-3000:]
    assert "clients: 8" in init.stdout
    demo = subprocess.run([aios, "demo", "--workspace", str(away / "ws")], cwd=away, env=env, capture_output=True, text=True,
                          timeout=900)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "ingested: 8 clients" in demo.stdout and "waiting for approval" in demo.stdout
    assert len(list((away / "ws" / "runs").glob("*-daily_ops"))) == 1
