"""The workbench's background worker: carries runs on while a kernel is open.

After a decision in the inbox, or a retry coming due, someone must run what
is pending. In a notebook that is this thread; on the command line
``aios resume``; in a scheduled run the run itself. All three call the same
:meth:`Orchestrator.run_pending`, so a widget click never runs work on the
front-end's thread, and a slow mail server never freezes the notebook.

The worker has an orchestrator (and a store connection) of its own: leases
keep it off the tasks the notebook runs itself, and within one process one
task runs at a time (see ``_core.IN_PROCESS``), so the notebook and the worker
never draft with the local model at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._core import Orchestrator

log = logging.getLogger("aios.worker")


class BackgroundWorker:
    """A daemon thread that runs due tasks, woken by :meth:`wake` or every ``poll_s`` seconds."""

    def __init__(self, make: Callable[[], Orchestrator], *, poll_s: float = 1.0) -> None:
        self._make = make
        self.poll_s = max(0.05, float(poll_s))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self.tasks_run = 0
        """Tasks this worker has run since it started."""
        self.last_error: str | None = None
        """The last thing that went wrong outside a task (tasks record their own failures)."""

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> BackgroundWorker:
        """Start the thread (once; starting a running worker does nothing)."""
        if not self.running:
            self._stop.clear()
            self._idle.clear()
            self._thread = threading.Thread(target=self._loop, name="aios-worker", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        """Look for due work now instead of at the next poll (a decision was just recorded)."""
        self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until the worker has found nothing due (True), or ``timeout`` seconds passed (False)."""
        self.wake()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._idle.wait(min(0.1, max(0.0, deadline - time.monotonic()))) and not self._wake.is_set():
                return True
            if not self.running:
                return False
        return False

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the task in hand (if any); a task cut short by the process ending is taken back by the next run."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        orch = None
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    if orch is None:
                        orch = self._make()
                    self.tasks_run += orch.run_pending(wait=False, stop=self._stop.is_set)
                except Exception as exc:  # noqa: BLE001  (the worker outlives a bad moment; tasks record their failures)
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("the background worker could not run pending work")
                if not self._wake.is_set():
                    self._idle.set()
                self._wake.wait(self.poll_s)
        finally:
            if orch is not None:
                orch.close()
                orch.store.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<BackgroundWorker {state}, {self.tasks_run} task(s) run" + (f", last error: {self.last_error}>" if self.last_error else ">")
