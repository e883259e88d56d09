"""The workspace key in the OS keyring where one works, a key file where none does (a headless server)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO

AIOS = REPO / ".venv" / "bin" / "aios"


def _env(tmp_path: Path, backend: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AIOS_KEYRING", "AIOS_KEY", "PYTHON_KEYRING_BACKEND")}
    env.update(AIOS_KEY_DIR=str(tmp_path / "keys"), XDG_DATA_HOME=str(tmp_path / "data"), HOME=str(tmp_path / "home"))
    if backend:
        env["PYTHON_KEYRING_BACKEND"] = backend
    return env


def _aios(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AIOS), *args], capture_output=True, text=True, env=env, input=stdin, timeout=300)


def test_a_working_keyring_holds_the_key_and_no_key_file_is_written(tmp_path: Path) -> None:
    # keyrings.alt's file backend: a real keyring implementation that works without a desktop session
    env = _env(tmp_path, "keyrings.alt.file.PlaintextKeyring")
    ws = tmp_path / "ws"
    assert _aios(env, "init", str(ws)).returncode == 0
    assert _aios(env, "secrets", "set", "smtp", "-w", str(ws), stdin="Pa55-word\n").returncode == 0
    keys = list((tmp_path / "keys").glob("*.key")) if (tmp_path / "keys").exists() else []
    assert keys == []
    ring = next((tmp_path / "data").rglob("keyring_pass.cfg")).read_text()
    assert "aios_2Dworkbench" in ring and "ws_" in ring  # the file backend escapes the "-" of the service name
    assert "smtp" in _aios(env, "secrets", "list", "-w", str(ws)).stdout
    verified = _aios(env, "verify", str(ws))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # the same workspace, the keyring gone: the key is missing, and the error says where it was
    gone = _aios(_env(tmp_path, "keyring.backends.fail.Keyring"), "secrets", "list", "-w", str(ws))
    assert gone.returncode == 1 and "key" in gone.stderr and "Traceback" not in gone.stderr


def test_without_a_working_keyring_the_key_goes_to_a_private_key_file(tmp_path: Path) -> None:
    env = _env(tmp_path, "keyring.backends.fail.Keyring")
    ws = tmp_path / "ws"
    assert _aios(env, "init", str(ws)).returncode == 0
    keys = list((tmp_path / "keys").glob("*.key"))
    assert len(keys) == 1 and keys[0].stat().st_mode & 0o777 == 0o600
    assert _aios(env, "verify", str(ws)).returncode == 0
