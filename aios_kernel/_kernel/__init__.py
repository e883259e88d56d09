"""The IPython kernel extension and the ``%aios`` magic."""

from ._commands import command, require
from ._extension import current, load_ipython_extension, unload_ipython_extension
from .._orchestrator import _magics as _orchestrator_magics  # noqa: F401,I001  (%aios runs, trace, approvals ...)
from .._memory import _commands as _memory_commands  # noqa: F401,I001  (%aios memory "query")
from . import _widget_commands as _widget_commands  # noqa: F401,I001  (%aios inbox, explore, timeline, costs; after the layers it wraps)

__all__ = ["command", "current", "load_ipython_extension", "require", "unload_ipython_extension"]
