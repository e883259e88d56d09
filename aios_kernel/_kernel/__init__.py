"""The IPython kernel extension and the ``%aios`` magic."""

from ._commands import command, require
from ._extension import current, load_ipython_extension, unload_ipython_extension

__all__ = ["command", "current", "load_ipython_extension", "require", "unload_ipython_extension"]
