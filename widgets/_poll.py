"""One background thread that keeps every live widget in step with the store.

Each tick it asks each registered widget for a cheap version number (for the
inbox: the largest ``event_seq`` of the approvals table) read through the
widget's own read-only connection, and only when that number moved does the
widget re-read its state and push it to the front-end. So a decision taken in
another notebook, the CLI or a headless run shows up without re-running the
cell, and an idle widget costs one tiny query a second.

A thread rather than the kernel's IOLoop: it works the same in Jupyter
kernels, marimo and plain Python, and the widgets read through connections
of their own, never the one the user's code writes with.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any

log = logging.getLogger("aios.widgets")

TICK_S = 0.25
"""How often the thread wakes to see which widgets are due."""


class Poller:
    """Calls ``widget.poll()`` on each registered widget every ``widget.poll_s`` seconds."""

    def __init__(self) -> None:
        self._widgets: weakref.WeakSet[Any] = weakref.WeakSet()
        self._due: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        # Re-entrant: a widget's __del__ (run by the garbage collector in whatever
        # thread drops its last reference) calls discard(), possibly inside add().
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None

    def add(self, widget: Any) -> None:
        with self._lock:
            self._widgets.add(widget)
            self._due[widget] = time.monotonic() + float(widget.poll_s)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="aios-widget-poll", daemon=True)
                self._thread.start()

    def discard(self, widget: Any) -> None:
        with self._lock:
            self._widgets.discard(widget)
            self._due.pop(widget, None)

    def __contains__(self, widget: Any) -> bool:
        return widget in self._widgets

    def __len__(self) -> int:
        return len(self._widgets)

    def _loop(self) -> None:
        while True:
            time.sleep(TICK_S)
            now = time.monotonic()
            with self._lock:
                due = [w for w in list(self._widgets) if self._due.get(w, now + 1) <= now]
                for w in due:
                    self._due[w] = now + float(w.poll_s)
            for w in due:
                try:
                    w.poll()
                except Exception as exc:  # a closed or deleted store: stop polling that widget, keep the rest
                    log.debug("widget %r stopped polling: %s", w, exc)
                    self.discard(w)
                    try:
                        w.stopped_polling(exc)
                    except Exception:  # noqa: BLE001  (the widget's own handler must never kill the thread)
                        pass
            # Drop the strong references here, outside the lock: the last one going
            # runs the widget's __del__, which takes the lock in discard().
            due = []
            w = None


POLLER = Poller()
