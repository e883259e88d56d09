"""AIOS Workbench: a notebook-native operating system for one-person companies.

``%load_ext aios_kernel`` in Jupyter binds ``wb``, the open :class:`Workbench`;
elsewhere (scripts, marimo) use ``Workbench.open(path)``.
"""

from ._errors import (
    AiosError,
    ChainError,
    ConfigError,
    IngestError,
    MissingDependencyError,
    NotFoundError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
    ValidationError,
    WorkspaceError,
)
from ._kernel import load_ipython_extension, unload_ipython_extension
from ._version import __version__
from ._workbench import Status, Workbench

__all__ = [
    "AiosError",
    "ChainError",
    "ConfigError",
    "IngestError",
    "MissingDependencyError",
    "NotFoundError",
    "Status",
    "StoreCorruptError",
    "StoreError",
    "StoreVersionError",
    "ValidationError",
    "Workbench",
    "WorkspaceError",
    "__version__",
    "load_ipython_extension",
    "unload_ipython_extension",
]
