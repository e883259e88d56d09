"""Workflow templates by name (the demo ones load on first use)."""

from __future__ import annotations

import difflib
import threading

from .._errors import WorkflowError
from ._workflow import Workflow

_WORKFLOWS: dict[str, Workflow] = {}
_LOCK = threading.Lock()
_LOADED = False


def register_workflow(wf: Workflow, *, replace: bool = False) -> Workflow:
    """Make ``wf`` available to ``wb.submit(wf.name, ...)``."""
    _load()
    with _LOCK:
        old = _WORKFLOWS.get(wf.name)
        if old is not None and old is not wf and not replace:
            raise WorkflowError(f"a workflow named {wf.name!r} is already registered; pass replace=True to swap it",
                                field="name")
        _WORKFLOWS[wf.name] = wf
    return wf


def get_workflow(name: str) -> Workflow:
    """The workflow called ``name``; an unknown name is a WorkflowError with the closest match."""
    _load()
    try:
        return _WORKFLOWS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_WORKFLOWS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise WorkflowError(f"unknown workflow {name!r}: {hint}known workflows: {', '.join(sorted(_WORKFLOWS))}",
                            field="workflow") from None


def workflows() -> dict[str, Workflow]:
    _load()
    return dict(sorted(_WORKFLOWS.items()))


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    with _LOCK:
        if _LOADED:
            return
        _LOADED = True
    from . import _library

    for wf in _library.WORKFLOWS:
        _WORKFLOWS.setdefault(wf.name, wf)
