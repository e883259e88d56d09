"""``%aios inbox``, ``%aios memory`` / ``%aios explore``, ``%aios timeline RUN``, ``%aios costs``: the widgets.

The widgets (``aios_kernel.widgets``, AnyWidget) are imported when a
command runs, never when the extension loads. Without a workspace the
commands still return their widget, which says what to do instead of a
traceback.

Two names have a second form declared beside this module: ``%aios memory
QUERY`` (``_memory``) and ``%aios costs workflow|day|...`` (``_runs``) answer
with tables; only the bare forms open the explorer and the cost meter.
"""

from __future__ import annotations

from typing import Any

from ._commands import Magic


def _inbox(wb: Any, args: list[str]) -> Any:
    from aios_kernel.widgets import ApprovalInbox

    return ApprovalInbox(wb)


def _explore(wb: Any, args: list[str]) -> Any:
    from aios_kernel.widgets import MemoryExplorer

    return MemoryExplorer(wb, query=" ".join(args))


def _timeline(wb: Any, args: list[str]) -> Any:
    from aios_kernel.widgets import TraceTimeline

    return TraceTimeline(wb, run_id=args[0] if args else None)


def _meter(wb: Any, args: list[str]) -> Any:
    from aios_kernel.widgets import CostMeter

    return CostMeter(wb)


MAGICS = [
    Magic("inbox", "the approval inbox: approve, edit, reject or defer what waits for you", "inbox", _inbox),
    Magic("explore", "the memory explorer: search, history, correct or forget", "explore [QUERY]", _explore),
    Magic("timeline", "a run's spans as an interactive timeline (default: the latest run)", "timeline [RUN]", _timeline),
    Magic("memory", "the memory explorer", "memory", _explore, bare=True),
    Magic("costs", "cost meter and run board: spending per workflow and day against the budgets", "costs", _meter, bare=True),
]
