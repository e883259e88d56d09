"""The credential store: named secrets of one workspace, encrypted at rest.

``aios secrets set NAME`` stores a value; ``aios.toml`` refers to it by name
(``password = "secret:NAME"``), and the connector that needs it reveals it at
the moment it logs in. The values live in ``WORKSPACE/secrets.enc``, one
Fernet token (AES-128-CBC with an HMAC) of the name -> value table, mode
0600; the Fernet key is derived (HKDF-SHA256) from the workspace key, which
is kept outside the workspace (``_keys``): a copy of the workspace folder
alone reveals nothing.

A :class:`Secret` never shows its value: ``repr``, ``str`` and formatting
give its name, it cannot be pickled (so it never reaches a Dask worker or a
cache), and JSON refuses it. Only :meth:`Secret.reveal` gives the value.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._errors import ConfigError, ValidationError, WorkspaceError
from ._workspace import WorkspacePaths

REF = "secret:"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FILE = "secrets.enc"


class Secret:
    """A credential's value, shown only as its name."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The value itself: call it where it is used (a login), never to show or store it."""
        return self._value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Secret cannot be changed")

    def __repr__(self) -> str:
        return f"<secret {self.name}>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> Any:
        raise TypeError(f"{self!r} cannot be pickled: secrets do not leave the process that reads them")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.name == self.name and other._value == self._value

    def __hash__(self) -> int:
        return hash(self.name)


def is_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(REF)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError(f"a secret's name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; "
                              f"got {name!r}", field="name")
    return name


class SecretStore:
    """The named secrets of one workspace (``wb.secrets``, ``aios secrets``)."""

    def __init__(self, paths: WorkspacePaths) -> None:
        self.paths = paths
        self.path = paths.root / FILE

    # -- the table --------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The names of the stored secrets (never their values)."""
        return sorted(self._read())

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name`` (replacing an earlier one)."""
        name = check_name(name)
        if not isinstance(value, str) or not value:
            raise ValidationError(f"secret {name}: the value must be non-empty text", field="value")
        if "\x00" in value or len(value) > 65_536:
            raise ValidationError(f"secret {name}: the value must be text without NUL characters, at most 64 KiB",
                                  field="value")
        with self._locked():
            table = self._read()
            table[name] = value
            self._write(table)

    def remove(self, name: str) -> bool:
        """Forget ``name``; False when there was no such secret."""
        name = check_name(name)
        with self._locked():
            table = self._read()
            if name not in table:
                return False
            del table[name]
            self._write(table)
        return True

    def get(self, name: str, *, key: str | None = None) -> Secret:
        """The secret ``name``; a missing one is a ConfigError saying how to store it."""
        name = check_name(name)
        table = self._read()
        if name not in table:
            where = f" (named by {key} in aios.toml)" if key else ""
            raise ConfigError(f"no secret named {name!r}{where}; store it with `aios secrets set {name}` "
                              f"(it reads the value from the terminal, never from the command line)", key=key)
        return Secret(name, table[name])

    def resolve(self, value: Any, *, key: str | None = None) -> Any:
        """``value`` itself, or the :class:`Secret` it names (``"secret:NAME"``)."""
        return self.get(value[len(REF):], key=key) if is_ref(value) else value

    # -- the file ---------------------------------------------------------------------------

    def _fernet(self) -> Any:
        from cryptography.fernet import Fernet

        from ._keys import derived_key

        return Fernet(base64.urlsafe_b64encode(derived_key(self.paths, "aios credential store")))

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        from cryptography.fernet import InvalidToken

        try:
            data = self._fernet().decrypt(self.path.read_bytes())
        except InvalidToken:
            raise WorkspaceError(f"{self.path} cannot be decrypted with this workspace's key (the key changed, or the file "
                                 "was altered); restore the key (see `aios verify`) or remove the file and set the secrets "
                                 "again", path=self.path) from None
        table = json.loads(data)
        return {str(k): str(v) for k, v in table.items()}

    def _write(self, table: dict[str, str]) -> None:
        token = self._fernet().encrypt(json.dumps(table, sort_keys=True).encode())
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, token)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def __repr__(self) -> str:
        return f"<SecretStore {len(self.names())} secret(s) in {self.path}>"


def secret_values(paths: WorkspacePaths) -> list[str]:
    """Every stored value (for leak scans in tests and ``aios verify``); never print what this returns."""
    store = SecretStore(paths)
    return [store.get(n).reveal() for n in store.names()]


__all__ = ["REF", "Secret", "SecretStore", "check_name", "is_ref", "secret_values"]
