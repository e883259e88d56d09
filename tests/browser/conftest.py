"""Real browser tests: Debian's Chromium driven by Playwright against JupyterLab and marimo servers.

Servers start with ``subprocess.Popen`` on 127.0.0.1 with fresh Jupyter
folders and a token, and are terminated afterwards. Screenshots of every
state go to ``test-artifacts/browser/`` (gitignored) for a person to look at.
Chromium comes from ``make browser-deps`` (apt); Playwright's own browser
download is never used.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.widgets.conftest import make_fast, seed_approvals

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "browser"
BIN = REPO / ".venv" / "bin"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
KERNEL_IDLE = "Python 3 (ipykernel) | Idle"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[Any], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def server_env(tmp: Path, workspace: Path) -> dict[str, str]:
    env = dict(os.environ, AIOS_WORKSPACE=str(workspace), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTERLAB_WORKSPACES_DIR",
                 "JUPYTERLAB_SETTINGS_DIR", "IPYTHONDIR"):
        d = tmp / name.lower()
        d.mkdir(parents=True, exist_ok=True)
        env[name] = str(d)
    # No news toast over the notebook; the theme is chosen per test.
    notif = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True, exist_ok=True)
    (notif / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    return env


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    workspace: Path
    settings: Path

    def open(self, page: Any, notebook: str) -> None:
        # ?reset: only this notebook, not the tabs an earlier page left in the workspace
        page.goto(f"{self.url}/lab/tree/{notebook}?reset&token={self.token}")
        page.get_by_text(KERNEL_IDLE).wait_for(timeout=90_000)


@contextmanager
def jupyter_lab(tmp: Path, workspace: Path, notebooks: list[Path], *, theme: str | None = None) -> Iterator[Lab]:
    """JupyterLab serving copies of ``notebooks`` (the originals are never autosaved over)."""
    root = tmp / "root"
    root.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        shutil.copy(nb, root / nb.name)
    env = server_env(tmp, workspace)
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
    if theme:
        themes = settings / "@jupyterlab" / "apputils-extension"
        (themes / "themes.jupyterlab-settings").write_text(f'{{"theme": "{theme}"}}')
    port, token = free_port(), secrets.token_hex(16)
    log = tmp / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BIN / "jupyter-lab"), "--no-browser", "--allow-root", f"--IdentityProvider.token={token}", "--ip=127.0.0.1",
             f"--port={port}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", proc, log)
        yield Lab(f"http://127.0.0.1:{port}", token, root, workspace, settings)
    finally:
        stop(proc)


@contextmanager
def marimo_app(tmp: Path, workspace: Path, app: Path) -> Iterator[str]:
    env = server_env(tmp, workspace)
    port = free_port()
    log = tmp / "marimo.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BIN / "marimo"), "run", str(app), "--headless", "--host", "127.0.0.1", "--port", str(port), "--no-token"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, log)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.on("console", lambda m: errors.append("console: " + m.text) if m.type == "error" else None)
    p.errors = errors  # type: ignore[attr-defined]
    yield p
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser_template(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Path:
    """A demo workspace on the template tier with e-mail replies and a quarantine waiting."""
    root = tmp_path_factory.mktemp("browser-template") / "ws"
    shutil.copytree(demo_template, root)
    make_fast(root)
    from aios_kernel import Workbench

    with Workbench.open(root) as wb:
        wb.submit("inbox_triage", {"limit": 8}, idempotency_key="browser-triage")
        wb.run_pending()
    return root


@pytest.fixture
def bws(browser_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(browser_template, dest)
    return dest


__all__ = ["ARTIFACTS", "Lab", "jupyter_lab", "marimo_app", "seed_approvals"]
