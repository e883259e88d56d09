"""The IPython kernel extension and the ``%aios`` magic."""

from ._commands import command, require
from ._extension import current, load_ipython_extension, unload_ipython_extension
from . import _widget_commands as _widget_commands  # noqa: F401  (%aios inbox, explore, timeline, costs)
from .._memory import _commands as _memory_commands  # noqa: F401  (%aios memory "query")
from .._orchestrator import _magics as _orchestrator_magics  # noqa: F401  (%aios runs, trace, approvals ...)

__all__ = ["command", "current", "load_ipython_extension", "require", "unload_ipython_extension"]
