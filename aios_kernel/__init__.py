"""AIOS Workbench: a notebook-native operating system for one-person companies.

``%load_ext aios_kernel`` in Jupyter binds ``wb``, the open :class:`Workbench`;
elsewhere (scripts, marimo) use ``Workbench.open(path)``.
"""

from ._errors import (
    AiosError,
    ChainError,
    ConfigError,
    ConnectorError,
    IngestError,
    MissingDependencyError,
    ModelError,
    NotFoundError,
    OutcomeUnknown,
    StateError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
    ValidationError,
    WorkflowError,
    WorkspaceError,
)
from ._agents import Agent, AgentResult, Evidence, FunctionAgent
from ._agents import register as register_agent
from ._invoices import Invoice, InvoiceLedger
from ._kernel import load_ipython_extension, unload_ipython_extension
from ._orchestrator import ForEach, Param, Step, Workflow, register_workflow
from ._version import __version__
from ._workbench import Status, Workbench

__all__ = [
    "Agent",
    "AgentResult",
    "AiosError",
    "ChainError",
    "ConfigError",
    "ConnectorError",
    "Evidence",
    "ForEach",
    "FunctionAgent",
    "IngestError",
    "Invoice",
    "InvoiceLedger",
    "MissingDependencyError",
    "ModelError",
    "NotFoundError",
    "OutcomeUnknown",
    "Param",
    "StateError",
    "Status",
    "Step",
    "StoreCorruptError",
    "StoreError",
    "StoreVersionError",
    "ValidationError",
    "Workbench",
    "Workflow",
    "WorkflowError",
    "WorkspaceError",
    "__version__",
    "load_ipython_extension",
    "register_agent",
    "register_workflow",
    "unload_ipython_extension",
]
