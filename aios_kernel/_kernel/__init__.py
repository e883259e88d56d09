"""The IPython kernel extension and the ``%aios`` magic.

The built-in sub-commands are declared in the modules beside this one and
installed here, from this list.
"""

from . import _core, _memory, _pipelines, _runs, _widgets
from ._commands import Magic, command, install, require
from ._extension import current, load_ipython_extension, unload_ipython_extension

install([*_core.MAGICS, *_runs.MAGICS, *_memory.MAGICS, *_widgets.MAGICS, *_pipelines.MAGICS])

__all__ = ["Magic", "command", "current", "install", "load_ipython_extension", "require", "unload_ipython_extension"]
