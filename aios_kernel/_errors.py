"""Every error the workbench raises on purpose.

The tree::

    AiosError                      root: catch this to catch all of ours
    ├── WorkspaceError             the workspace folder is missing, a file, or unusable
    ├── ConfigError                aios.toml is invalid (names the key and the fix)
    ├── StoreError                 the SQLite store cannot be used
    │   ├── StoreCorruptError      not a SQLite file, or integrity_check failed
    │   ├── StoreVersionError      written by a newer version of the workbench
    │   └── ChainError             the event hash chain does not verify (tampering)
    ├── IngestError                a source file (e.g. a malformed .eml) cannot be read
    ├── ValidationError            a value given by the caller is wrong (names the field)
    ├── NotFoundError              an id that does not exist
    ├── WorkflowError              a workflow cannot be planned or a run/task failed (names run, task, step)
    ├── StateError                 not allowed in the current state (e.g. an approval decided twice)
    │   └── LeaseLostError         a worker's task was leased to another worker meanwhile
    ├── ModelError                 a model is unavailable or its output is unusable
    ├── ConnectorError             an external system refused or failed an action
    │   └── OutcomeUnknown         it may or may not have happened: a person must say which
    └── MissingDependencyError     an optional package is not installed (says how)

Each error's message says what was wrong and what to do about it; structured
fields (``path``, ``key``, ``field`` ...) carry the same facts for code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class AiosError(Exception):
    """Root of the workbench's own errors."""


class WorkspaceError(AiosError):
    """The workspace folder cannot be used as a workspace."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class ConfigError(AiosError):
    """``aios.toml`` is invalid."""

    def __init__(self, message: str, *, path: Path | str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.key = key


class StoreError(AiosError):
    """The store cannot be used."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class StoreCorruptError(StoreError):
    """The store file is not a SQLite database, or fails its integrity check."""


class StoreVersionError(StoreError):
    """The store was written by a newer version of the workbench."""

    def __init__(self, message: str, *, path: Path | str | None = None, component: str = "", found: int = 0, known: int = 0) -> None:
        super().__init__(message, path=path)
        self.component = component
        self.found = found
        self.known = known


class ChainError(StoreError):
    """The event log's hash chain is broken at ``seq``."""

    def __init__(self, message: str, *, path: Path | str | None = None, seq: int | None = None) -> None:
        super().__init__(message, path=path)
        self.seq = seq


class IngestError(AiosError):
    """A source file cannot be ingested."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class ValidationError(AiosError, ValueError):
    """A value given by the caller is invalid; ``field`` names it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(AiosError, KeyError):
    """An id that does not exist."""

    def __init__(self, message: str, *, id: str | None = None) -> None:
        super().__init__(message)
        self.id = id

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class WorkflowError(AiosError):
    """A workflow cannot be planned, or one of its runs, tasks or steps failed."""

    def __init__(self, message: str, *, run_id: str | None = None, task_id: str | None = None,
                 step: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.task_id = task_id
        self.step = step
        self.field = field


class StateError(AiosError):
    """An operation is not allowed in the current state (deciding an approval twice ...)."""

    def __init__(self, message: str, *, id: str | None = None, state: str | None = None) -> None:
        super().__init__(message)
        self.id = id
        self.state = state


class LeaseLostError(StateError):
    """A worker lost the lease of its task (too slow to heartbeat); the new owner goes on from the last checkpoint."""

    def __init__(self, task_id: str, state: str | None, owner: str | None) -> None:
        super().__init__(f"task {task_id} is {state or 'gone'} under {owner}: this worker lost its lease (it was too slow "
                         "to heartbeat); the new owner continues from the last checkpoint", id=task_id, state=state)

    @classmethod
    def of(cls, task_id: str, row: Any) -> LeaseLostError:
        """The error for a task whose queue row ``(owner, status)`` is not this worker's (``None``: the row is gone)."""
        return cls(task_id, row[1] if row else None, row[0] if row else None)


class ModelError(AiosError):
    """A model is unavailable, timed out, or returned output that fails validation."""

    def __init__(self, message: str, *, tier: str | None = None) -> None:
        super().__init__(message)
        self.tier = tier


class ConnectorError(AiosError):
    """An external action failed; ``transient`` errors are retried with backoff.

    ``retry_after`` (seconds) is the target's own word on when to try again
    (HTTP ``Retry-After``, an open circuit, an empty rate-limit bucket); the
    retry waits at least that long. ``called`` is False when the call was
    refused before the target was asked (an open circuit, an empty bucket):
    nothing was sent, and nothing is charged.
    """

    def __init__(self, message: str, *, connector: str | None = None, transient: bool = False,
                 retry_after: float | None = None, called: bool = True) -> None:
        super().__init__(message)
        self.connector = connector
        self.transient = transient
        self.retry_after = retry_after
        self.called = called


class OutcomeUnknown(ConnectorError):
    """The target may have applied the action (the connection dropped after the message was handed over).

    Never retried on its own: the effect becomes ``unknown`` and the operator
    is asked whether it happened (``resend`` or ``mark_sent``).
    """

    def __init__(self, message: str, *, connector: str | None = None, hint: str = "") -> None:
        super().__init__(message, connector=connector, transient=False)
        self.hint = hint


class MissingDependencyError(AiosError, ImportError):
    """An optional dependency is missing."""


def missing_dependency(package: str, extra: str | None = None) -> MissingDependencyError:
    """Build the error for a missing optional package, with the install hint."""
    hint = f"pip install 'aios-workbench[{extra}]'" if extra else f"pip install {package}"
    return MissingDependencyError(f"{package} is not installed; install it with: {hint} (or run `make setup`)")
