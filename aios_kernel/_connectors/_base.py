"""Connectors: the only code that touches systems outside the store.

A connector declares its actions (:class:`~aios_kernel._connectors.Action`:
input schema, whether and how it can be undone), applies an action
identified by an idempotency key, and can say whether a key was already
applied (:meth:`Connector.was_applied`: a receipt, ``None``, or
:class:`Unknown` when the target cannot tell), which is what lets the outbox
reconcile after a crash instead of repeating blindly. Kinds register a
factory by name (:func:`register_kind`) and are created on first use from
``[connectors.NAME]`` in aios.toml (``kind`` defaults to NAME).

:meth:`Connectors.call` is the one way an action reaches a connector: the
payload is checked against the action's schema, the breaker and the rate
limit admit the call (``_guard``), and the outcome is counted. Timeouts are
the connector's own (``[connectors.NAME] timeout_s``, handed to every
socket it opens).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import ConfigError, ConnectorError, OutcomeUnknown, WorkflowError
from ._actions import Action
from ._guard import Guard, headroom, status
from ._journal import Journal

if TYPE_CHECKING:
    from ._calendar import CalendarConnector


@dataclass(frozen=True)
class Learned:
    """A fact a connector establishes by applying an action: ``fact`` (``sent``), a sentence, and its ids."""

    fact: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Unknown:
    """``was_applied``'s answer when the target cannot say (the hand-over started, no answer came back)."""

    reason: str
    hint: str = ""
    """What the operator can check (e.g. "search your Sent folder for Message-ID <...>")."""


@dataclass(frozen=True)
class ConnectorEnv:
    """What a connector is made with besides its settings."""

    paths: Any
    """The workspace folders (``paths.resolve(relative)``)."""
    secrets: Any
    """``secrets.resolve("secret:NAME", key=...)`` gives a :class:`~aios_kernel._workspace.Secret`."""
    journal: Journal
    config: Any
    store: Any = None
    """The workspace's store (the connectors' own tables: sync state, leases)."""
    inbound: Any = None
    """``inbound(messages) -> summary``: where fetched mail goes (the workbench ingests it as records and memory)."""


class Connector:
    """Base class of connectors: implement :meth:`apply` and :meth:`was_applied`, declare :attr:`actions`."""

    kind: str = ""
    actions: ClassVar[dict[str, Action]] = {}
    """The actions this connector performs, with their schemas."""
    any_action: ClassVar[bool] = False
    """True: actions it does not declare are taken too, unchecked (the ledger records anything)."""

    def __init__(self, name: str, settings: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.settings = dict(settings or {})
        self.timeout_s = float(self.settings.get("timeout_s", 30.0))

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Perform ``action`` once for ``key``; return a receipt (what the target recorded)."""
        raise NotImplementedError

    def was_applied(self, key: str) -> dict[str, Any] | Unknown | None:
        """The receipt if ``key`` was applied at the target, None if it was not, :class:`Unknown` if it cannot tell."""
        raise NotImplementedError

    def retract(self, key: str) -> None:
        """A person says ``key`` did not happen after all: forget any partial hand-over, so it can be done again."""

    def learned(self, action: str, payload: dict[str, Any], receipt: dict[str, Any]) -> Learned | None:
        """What the workspace now knows, ``action`` having been applied (kept as a signed memory), or None.

        The default states the action's declared ``fact`` with its short declared fields; a
        connector that knows better (the e-mail's recipients and Message-ID) says it itself.
        """
        spec = self.actions.get(action)
        if spec is None or spec.fact is None:
            return None
        # identifiers, amounts, subjects: short declared fields; never a body (max_len above a line's)
        shown = {f.name: payload[f.name] for f in spec.fields if f.max_len <= 1000 or f.kind != "text"
                 if isinstance(payload.get(f.name), (str, int, float)) and len(str(payload[f.name])) <= 200}
        detail = ", ".join(f"{k} {v}" for k, v in shown.items())
        return Learned(spec.fact, f"{action.replace('_', ' ')} via {self.describe()}: {spec.fact}" + (f" ({detail})" if detail else ""),
                       {k: v for k, v in shown.items()})

    def check(self, action: str, payload: dict[str, Any]) -> None:
        """Checks beyond the schema that need the connector's own knowledge (files it would attach ...); a
        ValidationError names the field. Runs before an intent is recorded, so a bad payload never becomes one."""

    def preview(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """What ``apply`` would do, done by nobody (a dry run)."""
        return {"connector": self.name, "kind": self.kind, "action": action, "would": f"{action} via {self.describe()}"}

    def describe(self) -> str:
        """Where it acts (a host, a file), for status lines."""
        return self.kind

    def close(self) -> None:
        """Release files or sockets (idempotent)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.describe()}>"


Factory = Callable[[str, dict[str, Any], ConnectorEnv], Connector]
"""``factory(name, settings, env) -> Connector``."""

_KINDS: dict[str, Factory | str] = {
    "ledger": "aios_kernel._connectors._ledger:LedgerConnector.from_settings",
    "email": "aios_kernel._connectors._email:EmailConnector.from_settings",
    "invoices": "aios_kernel._connectors._invoice:InvoiceConnector.from_settings",
}


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

    def __init__(self, config: Any, paths: Any, store: Any = None, secrets: Any = None, inbound: Any = None) -> None:
        self.config = config
        self.paths = paths
        self.store = store
        self.secrets = secrets
        self.inbound = inbound
        self._open: dict[str, Connector] = {}
        self._overrides: dict[str, Connector] = {}

    def settings(self, name: str) -> dict[str, Any]:
        found = (self.config.get("connectors") or {}).get(name)
        if found is None:
            raise WorkflowError(f"no connector {name!r} is configured; add [connectors.{name}] to aios.toml", field=name)
        return dict(found)

    def names(self) -> list[str]:
        return sorted((self.config.get("connectors") or {}))

    def get(self, name: str) -> Connector:
        if name in self._overrides:
            return self._overrides[name]
        if name not in self._open:
            settings = self.settings(name)
            if not settings.get("enabled", True):
                raise WorkflowError(f"connector {name!r} is disabled in aios.toml ([connectors.{name}] enabled = false)", field=name)
            env = ConnectorEnv(self.paths, self.secrets, Journal(self.store), self.config, self.store, self.inbound)
            self._open[name] = _factory(settings.get("kind") or name)(name, settings, env)
        return self._open[name]

    def use(self, name: str, connector: Connector) -> None:
        """Put ``connector`` in place of the configured one (tests and simulations)."""
        self._overrides[name] = connector

    # -- calls ----------------------------------------------------------------------------------

    def action(self, name: str, action: str) -> Action | None:
        """The declared action (None for an undeclared one a connector that takes any action accepts)."""
        target = self.get(name)
        spec = target.actions.get(action)
        if spec is None and not target.any_action:
            raise ConnectorError(f"connector {name!r} ({target.kind}) cannot {action}; it can: {', '.join(sorted(target.actions))}",
                                 connector=name)
        return spec

    def validate(self, name: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` checked against the action's schema (a ValidationError names the field)."""
        spec = self.action(name, action)
        clean = (spec or Action(action)).validate(payload, connector=name)  # undeclared: a table of fields, at least
        self.get(name).check(action, clean)
        return clean

    def call(self, name: str, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply ``action`` for ``key`` through the breaker and the rate limit, counting the outcome."""
        clean = self.validate(name, action, payload)
        target = self.get(name)
        guard = self._guard(name)
        if guard is not None:
            guard.admit(action)
        try:
            receipt = target.apply(key, action, clean)
        except OutcomeUnknown as exc:
            if guard is not None:
                guard.failed(str(exc), transient=True)
            raise
        except ConnectorError as exc:
            if guard is not None:
                guard.failed(str(exc), transient=exc.transient)
            raise
        except (OSError, TimeoutError) as exc:
            if guard is not None:
                guard.failed(str(exc), transient=True)
            raise ConnectorError(f"{name}: {type(exc).__name__}: {exc}", connector=name, transient=True) from exc
        if guard is not None:
            guard.succeeded()
        return receipt

    def was_applied(self, name: str, key: str) -> dict[str, Any] | Unknown | None:
        return self.get(name).was_applied(key)

    def preview(self, name: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A dry run: the checked payload and what the connector would do, with nothing done."""
        return self.get(name).preview(action, self.validate(name, action, payload))

    def _guard(self, name: str) -> Guard | None:
        return Guard(self.store, name, self.settings(name)) if self.store is not None and name not in self._overrides else None

    # -- looking at them ------------------------------------------------------------------------

    def price(self, name: str) -> float:
        """What one call of ``name`` costs (``[connectors.NAME] price_per_call``)."""
        return float(self.settings(name).get("price_per_call", 0) or 0)

    def calendar(self, name: str = "calendar") -> CalendarConnector:
        """The calendar connector ``name``: its read API (``busy``, ``free_slots``, ``event``) for planning."""
        from ._calendar import CalendarConnector

        found = self.get(name)
        if not isinstance(found, CalendarConnector):
            raise WorkflowError(f"connector {name!r} is a {found.kind} connector, not a calendar; set "
                                f"[connectors.{name}] kind = \"calendar\"", field=name)
        return found

    def status(self) -> list[dict[str, Any]]:
        """Every configured connector: kind, target, breaker state, today's calls, failures, last error, the calls its
        rate limit lets through now (``headroom``), the price of a call and today's cost."""
        names = self.names()
        state = status(self.store, names) if self.store is not None else {}
        out = []
        for name in names:
            settings = self.settings(name)
            try:
                target = self.get(name).describe() if settings.get("enabled", True) else "disabled"
            except Exception as exc:  # noqa: BLE001  (a broken connector is shown, not raised, in a status view)
                target = f"unusable: {exc}"
            row = {"connector": name, "kind": settings.get("kind") or name, "target": target,
                   **{k: v for k, v in state.get(name, {}).items() if k != "bucket_updated"}}
            rate = float(settings.get("rate_per_minute", 0) or 0)
            row["rate_per_minute"] = rate or None
            row["headroom"] = headroom(settings, state.get(name, {}))
            price = float(settings.get("price_per_call", 0) or 0)
            row["price_per_call"] = price
            row["cost_today"] = round(price * int(row.get("calls") or 0), 6)
            out.append(row)
        return out

    def frame(self) -> Any:
        """:meth:`status` as a polars DataFrame (``wb.connectors.frame()``)."""
        import polars as pl

        return pl.DataFrame(self.status(), infer_schema_length=None)

    def close(self) -> None:
        for c in self._open.values():
            c.close()
        self._open.clear()
