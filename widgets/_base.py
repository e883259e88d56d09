"""What every workbench widget shares: a workspace, a reader, a poll, requests, errors.

A widget writes through the open :class:`~aios_kernel.Workbench` (the same
calls a notebook makes) and reads its state through a read-only connection of
its own, so the background poll never shares a connection with user code.

The front-end asks for things by setting the synced ``request`` trait
(``{"op": ..., "nonce": ...}``) rather than with custom messages: a trait
change is what makes marimo re-run the cells that depend on the widget, and
it works the same in JupyterLab, Notebook 7 and VS Code. Python answers in
``reply``; errors never escape as tracebacks, they appear in the widget.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from aios_kernel._errors import AiosError

from ._poll import POLLER

log = logging.getLogger("aios.widgets")
HERE = Path(__file__).resolve().parent


def asset(*names: str) -> str:
    """The text of front-end files shipped beside this module, joined in order.

    Each widget's ES module is ``common.js`` (no exports, shared helpers)
    followed by its own file (``export default``), so no import resolves at
    run time and nothing is fetched from a network.
    """
    return "\n".join((HERE / n).read_text(encoding="utf-8") for n in names)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON for a synced trait (numpy scalars become numbers, the rest strings)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        try:
            return jsonable(item())
        except (TypeError, ValueError):
            pass
    return str(value)


NO_WORKSPACE = ("No workspace is open in this kernel. Run %aios open PATH (make one with: aios init PATH --demo), "
                "or set AIOS_WORKSPACE before starting the kernel.")


def open_reader(path: Path) -> Any:
    """A connection of the widget's own to the store at ``path``, for reading only.

    Opened by SQLite alone, not with ``Store.open``: that reads the file's
    header with Python's ``open()``, and closing that descriptor drops every
    POSIX lock this process holds on the file, including those of the
    workbench's own connection. Another process closing its last connection
    would then think itself alone and delete the WAL under this kernel.
    """
    from aios_kernel._store import Store

    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only=1")
    return Store(Path(path), conn)


def resolve_workbench(wb: Any) -> tuple[Any, bool]:
    """``(workbench, owned)``: the one given, the kernel's, or one opened from ``$AIOS_WORKSPACE``."""
    if wb is not None:
        return wb, False
    from aios_kernel._workbench import current

    cur = current()
    if cur is not None:
        return cur, False
    from aios_kernel import Workbench

    return Workbench.open(), True


class WorkbenchWidget(anywidget.AnyWidget):
    """Base of the workbench widgets; subclasses define ``probe``, ``refresh`` and ``_op_*`` handlers."""

    error = t.Unicode("").tag(sync=True)
    """A message that replaces the whole widget (no workspace, store gone)."""
    notice = t.Dict().tag(sync=True)
    """``{"level": "info"|"error", "text": ...}``: the last thing worth telling the user."""
    request = t.Dict().tag(sync=True)
    """Set by the front-end: ``{"op": NAME, "nonce": N, ...}``."""
    reply = t.Dict().tag(sync=True)
    """Python's answer to the last request: ``{"nonce", "op", "ok", "message", "field"}``."""
    version = t.Int(0).tag(sync=True)
    """The store version the shown state was read at."""
    live = t.Bool(False).tag(sync=True)
    """True while the background poll keeps this widget current."""
    workspace = t.Unicode("").tag(sync=True)

    def __init__(self, wb: Any = None, *, live: bool = True, poll_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self.poll_s = float(poll_s)
        self._wb: Any = None
        self._owned = False
        self._reader: Any = None
        self._seen: Any = None
        try:
            self._wb, self._owned = resolve_workbench(wb)
            self._reader = open_reader(self._wb.store.path)
        except AiosError as exc:
            self._wb = None
            self.error = f"{NO_WORKSPACE}\n({exc})"
            return
        self.workspace = str(self._wb.paths.root)
        with self._lock:
            try:
                self._seen = self.probe()
                self.refresh()
            except AiosError as exc:
                self.error = str(exc)
                return
        if live:
            self.live = True
            POLLER.add(self)

    # -- what subclasses provide ---------------------------------------------------------------

    def probe(self) -> Any:
        """A cheap value that changes whenever this widget's state in the store may have changed."""
        return None

    def refresh(self) -> None:
        """Re-read the state from the store and push it to the front-end."""

    # -- the poll -----------------------------------------------------------------------------

    @property
    def wb(self) -> Any:
        """The workbench this widget writes through (None without a workspace)."""
        return self._wb

    def poll(self) -> bool:
        """Refresh if the store moved on since the last look; returns whether it did."""
        with self._lock:
            if self._reader is None:
                return False
            v = self.probe()
            if v == self._seen:
                return False
            self._seen = v
            self.refresh()
            return True

    def stopped_polling(self, exc: BaseException) -> None:
        self.live = False
        self.notice = {"level": "error", "text": f"stopped following the store: {exc}"}

    # -- requests from the front-end ----------------------------------------------------------

    @t.observe("request")
    def _on_request(self, change: dict[str, Any]) -> None:
        req = change["new"] or {}
        op = req.get("op")
        if not op:
            return
        self.handle(req)

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        """Run one request (as the front-end sends it) and return the reply it gets."""
        op, nonce = str(req.get("op")), req.get("nonce")
        with self._lock:
            if self._wb is None:
                reply = {"nonce": nonce, "op": op, "ok": False, "message": self.error}
            elif not hasattr(self, f"_op_{op}"):
                reply = {"nonce": nonce, "op": op, "ok": False, "message": f"this widget has no operation {op!r}"}
            else:
                try:
                    message = getattr(self, f"_op_{op}")(req) or ""
                    reply = {"nonce": nonce, "op": op, "ok": True, "message": message}
                except AiosError as exc:
                    reply = {"nonce": nonce, "op": op, "ok": False, "message": str(exc),
                             "field": getattr(exc, "field", None), "error_type": type(exc).__name__}
                except sqlite3.ProgrammingError as exc:  # the workbench behind this widget was closed
                    reply = {"nonce": nonce, "op": op, "ok": False, "error_type": "WorkspaceError",
                             "message": f"the workspace this widget was opened on is closed ({exc}); show the widget "
                                        "again (e.g. run the cell again) to use the open one"}
                except Exception as exc:  # shown in the widget; the log keeps the traceback
                    log.exception("widget operation %s failed", op)
                    reply = {"nonce": nonce, "op": op, "ok": False,
                             "message": f"unexpected {type(exc).__name__}: {exc}", "error_type": type(exc).__name__}
            self.reply = reply
            return reply

    # -- life ---------------------------------------------------------------------------------

    def close(self) -> None:
        POLLER.discard(self)
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._owned and self._wb is not None:
                self._wb.close()
                self._wb = None
        super().close()

    def __repr__(self) -> str:
        if self.error:
            return f"<{type(self).__name__}: {self.error.splitlines()[0]}>"
        return f"<{type(self).__name__} {self.workspace}>"
