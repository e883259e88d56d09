"""The local ledger: side effects as lines of a JSONL file.

Every executed effect appends exactly one line
``{"key": ..., "action": ..., "payload": ..., "at": ...}`` and fsyncs it, so
the file is an independent record of what was done: a check can count
effects per key without trusting the store. The file is its own source of
truth for "was key K applied?": :meth:`LedgerConnector.was_applied` reads it.

Appends hold an exclusive ``flock`` and look the key up first, so even two
workers racing on the same key write one line. A line cut short by a crash
(no newline) is not an applied effect; it is cut off before the next append.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any, ClassVar

from .._errors import ConnectorError
from .._ids import iso
from ._actions import Action, Field
from ._base import Connector
from ._email import SEND


class LedgerConnector(Connector):
    """Appends effects to ``path`` (``[connectors.ledger] path``, relative to the workspace).

    It records any action; the ones it declares are checked as their own
    connectors check them (an e-mail through the ledger needs valid addresses).
    """

    kind = "ledger"
    actions: ClassVar[dict[str, Action]] = {
        "send_email": SEND,
        "issue_invoice": Action("issue_invoice", (Field("number", "id"), Field("total", "amount"), Field("currency", "currency")),
                                reversible=True, compensation="void_invoice", fact="issued"),
        "void_invoice": Action("void_invoice", (Field("undo_of", "text"),), fact="voided"),
    }
    any_action: ClassVar[bool] = True

    def __init__(self, name: str, path: Path, settings: dict[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self.path = Path(path)
        self._keys: dict[str, dict[str, Any]] = {}
        self._offset = 0

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], env: Any) -> LedgerConnector:
        return cls(name, env.paths.resolve(settings.get("path") or "ledger.jsonl"), settings)

    def describe(self) -> str:
        return f"ledger {self.path}"

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        line = json.dumps({"key": key, "action": action, "payload": payload, "at": iso()}, ensure_ascii=False,
                          sort_keys=True, separators=(",", ":"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise ConnectorError(f"cannot open the ledger {self.path}: {exc}", connector=self.name, transient=True) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._refresh(fd)
            if key in self._keys:
                return {**self._receipt(key), "already_applied": True}
            self._cut_torn_tail(fd)
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
            self._refresh(fd)
            return self._receipt(key)
        except OSError as exc:
            raise ConnectorError(f"writing the ledger {self.path} failed: {exc}", connector=self.name, transient=True) from exc
        finally:
            os.close(fd)

    def was_applied(self, key: str) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._refresh(fd)
        finally:
            os.close(fd)
        return self._receipt(key) if key in self._keys else None

    def entries(self) -> list[dict[str, Any]]:
        """Every complete line of the ledger, in order."""
        if not self.path.exists():
            return []
        out = []
        for raw in self.path.read_bytes().split(b"\n")[:-1]:
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def _receipt(self, key: str) -> dict[str, Any]:
        rec = self._keys[key]
        return {"key": key, "ledger": str(self.path), "line": rec["_line"], "at": rec.get("at")}

    def _refresh(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size < self._offset:  # the file was replaced or truncated: read it again
            self._keys.clear()
            self._offset = 0
        if size == self._offset:
            return
        data = os.pread(fd, size - self._offset, self._offset)
        end = data.rfind(b"\n")
        if end < 0:
            return
        line_no = len(self._keys)
        for raw in data[:end].split(b"\n"):
            try:
                rec = json.loads(raw)
            except ValueError:
                continue  # a torn line that another writer already cut or overwrote
            if isinstance(rec, dict) and "key" in rec and rec["key"] not in self._keys:
                line_no += 1
                rec["_line"] = line_no
                self._keys[rec["key"]] = rec
        self._offset += end + 1

    def _cut_torn_tail(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size == 0 or size == self._offset:
            return
        # Bytes after the last newline are a write cut short by a crash: never an applied effect.
        os.ftruncate(fd, self._offset)
        os.fsync(fd)
