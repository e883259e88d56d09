"""Workbench widgets: the approval inbox, memory explorer, trace timeline and cost meter.

AnyWidget front-ends (vanilla ES modules and CSS beside this file, no build
step, nothing fetched at run time) that render in JupyterLab, Notebook 7,
VS Code and marimo (wrap them in ``mo.ui.anywidget``). Each takes the open
:class:`~aios_kernel.Workbench` (default: the kernel's ``wb``) and shows a
message instead of a traceback when there is none.

This package imports anywidget; ``%load_ext aios_kernel`` does not import
it, the ``%aios`` commands do on first use.
"""

from __future__ import annotations

from typing import Any

from ._base import WorkbenchWidget
from ._costs import CostMeter, cost_figure, spending
from ._inbox import ApprovalInbox
from ._memory_explorer import MemoryExplorer
from ._trace import TraceTimeline

__all__ = ["ApprovalInbox", "CostMeter", "MemoryExplorer", "TraceTimeline", "WorkbenchWidget", "cost_figure", "costs",
           "explore_memory", "inbox", "spending", "trace_timeline"]


def inbox(wb: Any = None, **kwargs: Any) -> ApprovalInbox:
    """The approval inbox of ``wb`` (default: the kernel's workbench, else ``$AIOS_WORKSPACE``)."""
    return ApprovalInbox(wb, **kwargs)


class _Host:
    """What a widget needs of a Workbench (store, paths, settings; memory if any), given one of its parts."""

    def __init__(self, part: Any) -> None:
        self.store = part.store
        self.config = part.config
        self.paths = part.paths
        if hasattr(part, "recall"):
            self.memory = part


def explore_memory(wb: Any = None, query: str = "", **kwargs: Any) -> MemoryExplorer:
    """The memory explorer for ``wb`` (a Workbench, or a ``wb.memory``), optionally searching ``query``."""
    if wb is not None and not hasattr(wb, "memory") and hasattr(wb, "recall"):
        wb = _Host(wb)
    return MemoryExplorer(wb, query=query, **kwargs)


def trace_timeline(run: Any, wb: Any = None, **kwargs: Any) -> TraceTimeline:
    """The timeline of ``run`` (a Run, or a run id with ``wb``; default: the kernel's workbench)."""
    if wb is None and hasattr(run, "workspace"):
        wb = _Host(run.workspace)
    return TraceTimeline(wb, run_id=getattr(run, "id", run), **kwargs)


def costs(wb: Any = None, **kwargs: Any) -> CostMeter:
    """The cost meter and run board of ``wb``."""
    return CostMeter(wb, **kwargs)
