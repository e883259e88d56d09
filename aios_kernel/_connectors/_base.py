"""Connectors: the only code that touches systems outside the store.

A connector applies an action identified by an idempotency key and can say
whether a key was already applied, which is what lets the outbox reconcile
after a crash instead of repeating blindly. Kinds register a factory by name
(``register_kind``) and are created on first use from ``[connectors.NAME]``
in aios.toml (``kind`` defaults to NAME).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import ConfigError, WorkflowError


class Connector:
    """Base class of connectors. Subclasses implement :meth:`apply` and :meth:`was_applied`."""

    kind: str = ""

    def __init__(self, name: str) -> None:
        self.name = name

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Perform ``action`` once for ``key``; return a receipt (what the target recorded)."""
        raise NotImplementedError

    def was_applied(self, key: str) -> dict[str, Any] | None:
        """The receipt if ``key`` was already applied at the target, else None."""
        raise NotImplementedError

    def close(self) -> None:
        """Release files or sockets (idempotent)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


Factory = Callable[[str, dict[str, Any], Any], Connector]
"""``factory(name, settings, workspace_paths) -> Connector``."""

_KINDS: dict[str, Factory | str] = {"ledger": "aios_kernel._connectors._ledger:LedgerConnector.from_settings"}


def register_kind(kind: str, factory: Factory | str) -> None:
    """Register a connector type; ``factory`` may be ``"module:attr"`` to import lazily."""
    _KINDS[kind] = factory


def kinds() -> list[str]:
    return sorted(_KINDS)


def _factory(kind: str) -> Factory:
    target = _KINDS.get(kind)
    if target is None:
        raise ConfigError(f"unknown connector kind {kind!r}; known kinds: {', '.join(kinds())}", key=f"connectors.{kind}.kind")
    if isinstance(target, str):
        import importlib

        module, _, attr = target.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        _KINDS[kind] = obj
        return obj
    return target


class Connectors:
    """The connectors of one workspace, opened on first use and closed with the workbench."""

    def __init__(self, config: Any, paths: Any) -> None:
        self.config = config
        self.paths = paths
        self._open: dict[str, Connector] = {}
        self._overrides: dict[str, Connector] = {}

    def get(self, name: str) -> Connector:
        if name in self._overrides:
            return self._overrides[name]
        if name not in self._open:
            settings = (self.config.get("connectors") or {}).get(name)
            if settings is None:
                raise WorkflowError(f"no connector {name!r} is configured; add [connectors.{name}] to aios.toml", field=name)
            if not settings.get("enabled", True):
                raise WorkflowError(f"connector {name!r} is disabled in aios.toml ([connectors.{name}] enabled = false)", field=name)
            self._open[name] = _factory(settings.get("kind") or name)(name, settings, self.paths)
        return self._open[name]

    def use(self, name: str, connector: Connector) -> None:
        """Put ``connector`` in place of the configured one (tests and simulations)."""
        self._overrides[name] = connector

    def close(self) -> None:
        for c in self._open.values():
            c.close()
        self._open.clear()
