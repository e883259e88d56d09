"""The workspace key: the secret that keys the event chain (and, later, the credential store).

One place says where it comes from:

1. ``$AIOS_KEY``: the key itself, base64 (at least 32 bytes once decoded);
2. a key file outside the workspace, ``KEYDIR/<workspace id>.key``, where KEYDIR
   is ``$AIOS_KEY_DIR``, else ``$XDG_CONFIG_HOME/aios/keys``, else
   ``~/.config/aios/keys``; a file others can read is refused, as ssh refuses keys;
3. the OS keyring (``keyring``: the desktop's Secret Service, macOS Keychain,
   Windows Credential Locker), service ``aios-workbench``, the workspace id as
   the user name.

The workspace id is kept in the store (``store_info``), so copies of one store
share a key and a new store gets its own. A new key (32 random bytes) goes to the
OS keyring when one works here, else to a key file (mode 0600, in a folder of mode
0700). Headless servers have no working keyring (``keyring`` answers with its
"fail" backend, or its backend raises): they get the file, with no error and no
prompt. ``AIOS_KEYRING=off`` keeps keys out of the keyring on any machine.

Beside the key file, ``<workspace id>.sealed`` records that the workspace's log was
keyed. An unkeyed log of a sealed workspace was rewritten (someone replaced the
keyed chain with a recomputed plain one), and it is refused rather than keyed again.

:func:`workspace_key` is the API; :class:`WorkspaceKeys` is the key ring the store
uses (registered with ``aios_kernel._store`` when this package is imported).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import stat
import warnings
from pathlib import Path
from typing import Any

from .._errors import WorkspaceError
from .._store import ChainKey, read_workspace_id
from ._workspace import WorkspacePaths

ENV_KEY = "AIOS_KEY"
ENV_DIR = "AIOS_KEY_DIR"
ENV_KEYRING = "AIOS_KEYRING"
KEYRING_SERVICE = "aios-workbench"
KEY_BYTES = 32
_WORKSPACE_ID = re.compile(r"ws_[0-9a-f]{22}")


def key_dir() -> Path:
    """Where key files live: ``$AIOS_KEY_DIR``, ``$XDG_CONFIG_HOME/aios/keys`` or ``~/.config/aios/keys``."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "aios" / "keys"


def key_path(workspace_id: str) -> Path:
    """The key file of ``workspace_id`` (the id is checked: it comes from the store, a file others may write)."""
    if not isinstance(workspace_id, str) or not _WORKSPACE_ID.fullmatch(workspace_id):
        raise WorkspaceError(f"the store's workspace id {workspace_id!r} is malformed (store_info was edited); "
                             "restore store.db from a snapshot")
    return key_dir() / f"{workspace_id}.key"


def workspace_key(paths: WorkspacePaths, *, create: bool = True) -> bytes:
    """The secret key of the workspace at ``paths`` (created on first use unless ``create`` is false).

    Raises WorkspaceError when the store has no workspace id yet (open the workspace
    once), when the key is missing and ``create`` is false, or when the key file is
    unsafe (readable by others, inside the workspace).
    """
    wid = read_workspace_id(paths.store)
    if wid is None:
        raise WorkspaceError(f"{paths.store} has no workspace id yet; open the workspace once (Workbench.open) to make one",
                             path=paths.store)
    found = WorkspaceKeys().key(wid, create=create, store_path=paths.store)
    if found is None:
        raise WorkspaceError(f"the key of workspace {wid} is missing: restore {key_path(wid)} or set {ENV_KEY}",
                             path=key_path(wid))
    return found.secret


class WorkspaceKeys:
    """The key ring of ``Store.open``: keys from ``$AIOS_KEY`` or key files, and the sealed markers."""

    def key(self, workspace_id: str, *, create: bool, store_path: object = None) -> ChainKey | None:
        env = os.environ.get(ENV_KEY)
        if env:
            return ChainKey(_decode_env(env), source=f"${ENV_KEY}")
        path = key_path(workspace_id)
        if store_path is not None:
            _outside(path, Path(str(store_path)).resolve().parent)
        if path.exists():
            return ChainKey(_read(path), source=str(path))
        ring = os_keyring()
        if ring is not None:
            found = _from_ring(ring, workspace_id)
            if found is not None or not create:
                return None if found is None else ChainKey(found, source=f"keyring {KEYRING_SERVICE}/{workspace_id}")
            made = _create_in_ring(ring, workspace_id, path)
            if made is not None:
                return ChainKey(made, source=f"keyring {KEYRING_SERVICE}/{workspace_id}")
        if not create:
            return None
        return ChainKey(_create(path), source=str(path))

    def sealed(self, workspace_id: str) -> bool:
        return key_path(workspace_id).with_suffix(".sealed").exists()

    def seal(self, workspace_id: str) -> None:
        marker = key_path(workspace_id).with_suffix(".sealed")
        try:
            _private_dir(marker.parent)
            marker.touch(mode=0o600, exist_ok=True)
        except OSError as exc:  # only with $AIOS_KEY: a key file's folder is writable
            warnings.warn(f"cannot write {marker} ({exc.strerror}): without it, a rewrite of this workspace's log into "
                          f"an unkeyed one cannot be told from a log never keyed; make {marker.parent} writable",
                          stacklevel=2)


def os_keyring() -> Any | None:
    """The OS keyring when one works on this machine (not ``keyring``'s "fail" backend), else None."""
    if os.environ.get(ENV_KEYRING, "").strip().lower() in ("0", "off", "no", "false"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        ring = keyring.get_keyring()
        usable = not isinstance(ring, fail.Keyring) and float(getattr(ring, "priority", 0)) > 0
    except Exception:  # noqa: BLE001  (a backend that breaks while being chosen is no keyring here)
        return None
    return ring if usable else None


def _from_ring(ring: Any, workspace_id: str) -> bytes | None:
    try:
        text = ring.get_password(KEYRING_SERVICE, workspace_id)
    except Exception:  # noqa: BLE001  (a locked or unreachable keyring: no key from it)
        return None
    if not text:
        return None
    secret = _decode_key(text)
    if secret is None:
        raise WorkspaceError(f"the OS keyring's entry {KEYRING_SERVICE}/{workspace_id} is not a workspace key; "
                             "restore it from your backup, or remove it to use a key file")
    return secret


def _create_in_ring(ring: Any, workspace_id: str, path: Path) -> bytes | None:
    """A new key in the keyring (None when the keyring refuses: the caller falls back to a key file).

    A lock file beside the key files makes two processes agree on one key (a keyring has no
    "create if absent"): the second finds the first's key.
    """
    import fcntl

    try:
        _private_dir(path.parent)
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            found = _from_ring(ring, workspace_id)
            if found is not None:
                return found
            secret = os.urandom(KEY_BYTES)
            ring.set_password(KEYRING_SERVICE, workspace_id, base64.b64encode(secret).decode("ascii"))
            if _from_ring(ring, workspace_id) != secret:
                return None
            return secret
    except WorkspaceError:
        raise
    except Exception as exc:  # noqa: BLE001  (keyring #569: backends that fail on headless machines)
        warnings.warn(f"the OS keyring would not store the workspace key ({type(exc).__name__}); it goes to a key file "
                      f"in {path.parent} instead", stacklevel=3)
        return None


def derived_key(paths: WorkspacePaths, purpose: str) -> bytes:
    """A key for one purpose (the credential store, signed memories), derived from the workspace key by HKDF-SHA256."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(workspace_key(paths))


def _decode_key(text: str) -> bytes | None:
    """A key written as base64 (``$AIOS_KEY``, a keyring entry), or None when it is not one."""
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return secret if len(secret) >= KEY_BYTES else None


def _decode_env(text: str) -> bytes:
    secret = _decode_key(text)
    if secret is None:
        raise WorkspaceError(f"${ENV_KEY} must be the base64 of at least {KEY_BYTES} random bytes; make one with: "
                             "python -c \"import base64, os; print(base64.b64encode(os.urandom(32)).decode())\"")
    return secret


def _outside(path: Path, workspace: Path) -> None:
    folder = path.parent.resolve()
    if folder == workspace or workspace in folder.parents:
        raise WorkspaceError(f"the key folder {folder} is inside the workspace {workspace}: anyone who can copy the "
                             f"store would have its key; point {ENV_DIR} outside it", path=folder)


def _read(path: Path) -> bytes:
    try:
        info = path.stat()
        if info.st_mode & 0o077:
            raise WorkspaceError(f"{path} can be read by others (mode {stat.filemode(info.st_mode)}); "
                                 f"run: chmod 600 {path}", path=path)
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise WorkspaceError(f"{path} belongs to another user; the key file must be yours", path=path)
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"cannot read the workspace key {path} ({exc}); restore it from your backup", path=path) from exc
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) < KEY_BYTES:
        raise WorkspaceError(f"{path} is not a workspace key (base64 of {KEY_BYTES} bytes); restore it from your backup",
                             path=path)
    return secret


def _private_dir(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _create(path: Path) -> bytes:
    """Write a new key atomically (linked into place, so two processes agree on one key)."""
    secret = os.urandom(KEY_BYTES)
    try:
        _private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, base64.b64encode(secret) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process made it first: theirs is the key
            return _read(path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        with contextlib.suppress(OSError):
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except OSError as exc:
        raise WorkspaceError(f"cannot create the workspace key {path} ({exc.strerror}); make {path.parent} writable or "
                             f"set {ENV_DIR}", path=path) from exc
    return secret
