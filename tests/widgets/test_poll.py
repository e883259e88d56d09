"""The poll thread and garbage collection: a widget finalised inside the poller's lock."""

from __future__ import annotations

import gc
import threading

from aios_kernel.widgets._poll import Poller


class _Probe:
    poll_s = 0.01

    def __init__(self) -> None:
        self.polls = 0

    def poll(self) -> None:
        self.polls += 1


def test_discard_while_the_lock_is_held_in_the_same_thread_does_not_deadlock() -> None:
    """What a widget's __del__ does when the collector runs inside add() or the poll loop."""
    poller = Poller()
    probe = _Probe()
    poller.add(probe)
    done = threading.Event()

    def body() -> None:
        with poller._lock:
            poller.discard(probe)
        done.set()

    threading.Thread(target=body, daemon=True).start()
    assert done.wait(5), "discard() blocked on the poller's own lock"
    assert probe not in poller


def test_widgets_dropped_while_polled_are_finalised_without_blocking_the_poller() -> None:
    poller = Poller()
    finalised = threading.Event()

    class Dying(_Probe):
        def __del__(self) -> None:
            poller.discard(self)
            finalised.set()

    for _ in range(20):
        poller.add(Dying())  # only the poller's weak references and its tick lists hold them
    gc.collect()
    survivor = _Probe()
    poller.add(survivor)
    assert finalised.wait(5)
    deadline = threading.Event()
    deadline.wait(0.6)
    assert survivor.polls > 0, "the poll thread stopped after finalising widgets"
