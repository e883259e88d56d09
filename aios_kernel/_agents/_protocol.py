"""The one small protocol every agent follows.

An agent has a ``name``, a ``version``, typed ``inputs`` and ``outputs``; it
is stateless: :meth:`Agent.run` gets an :class:`AgentContext` (read-only
records and store, the models, recall, where in which run it is) and the
resolved inputs, and returns an :class:`AgentResult`: outputs, evidence
(references with snippets and provenance), confidence and cost. The runner
records the agent's version on every step it runs, and the result is the
step's checkpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .._errors import ValidationError, WorkflowError
from .._evidence import Evidence
from .._models import Cost

if TYPE_CHECKING:
    from .._entities import Records
    from .._models import Generation, GenRequest, Models


@dataclass
class AgentResult:
    """What one agent call produced."""

    outputs: dict[str, Any]
    evidence: list[Evidence] = field(default_factory=list)
    confidence: float = 1.0
    cost: Cost = field(default_factory=Cost)
    note: str = ""
    """One line for the narrative: what was done and why."""


class Agent:
    """Base class: subclass, set the class attributes, implement :meth:`run`."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    inputs: ClassVar[dict[str, Any]] = {}
    """Input name → accepted type(s); ``object`` accepts anything."""
    outputs: ClassVar[dict[str, Any]] = {}
    uses_models: ClassVar[bool] = False
    """Steps of agents that call models are checked against the budgets before they run."""

    def run(self, ctx: AgentContext, **inputs: Any) -> AgentResult:
        raise NotImplementedError

    def compensate(self, ctx: AgentContext, outputs: dict[str, Any]) -> dict[str, Any]:
        """Undo what :meth:`run` did (for ``compensate="agent:NAME"``)."""
        raise WorkflowError(f"agent {self.name} has no compensation")

    @property
    def ident(self) -> str:
        return f"{self.name}@{self.version}"

    def __repr__(self) -> str:
        return f"<agent {self.ident}>"


class FunctionAgent(Agent):
    """An agent made from a function ``fn(ctx, **inputs) -> dict | AgentResult``."""

    def __init__(self, name: str, fn: Callable[..., Any], *, version: str = "1", inputs: dict[str, Any] | None = None,
                 outputs: dict[str, Any] | None = None, uses_models: bool = False, description: str = "") -> None:
        self.name = name  # type: ignore[misc]
        self.version = version  # type: ignore[misc]
        self.fn = fn
        self.inputs = dict(inputs or {})  # type: ignore[misc]
        self.outputs = dict(outputs or {})  # type: ignore[misc]
        self.uses_models = uses_models  # type: ignore[misc]
        self.description = description or (fn.__doc__ or "").strip().split("\n")[0]  # type: ignore[misc]

    def run(self, ctx: AgentContext, **inputs: Any) -> AgentResult:
        out = self.fn(ctx, **inputs)
        if isinstance(out, AgentResult):
            return out
        if not isinstance(out, dict):
            raise ValidationError(f"agent {self.name} returned {type(out).__name__}; return a dict of outputs or an AgentResult",
                                  field="outputs")
        return AgentResult(out)


def check_types(agent: Agent, values: Mapping[str, Any], which: str) -> None:
    """Refuse missing or mistyped inputs/outputs; the error names the field."""
    spec = agent.inputs if which == "input" else agent.outputs
    for name, kind in spec.items():
        if name not in values:
            raise ValidationError(f"agent {agent.ident} needs {which} {name!r} (got: {', '.join(values) or 'none'})", field=name)
        if kind is object or kind is Any:
            continue
        if not isinstance(values[name], kind):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ValidationError(f"agent {agent.ident}: {which} {name!r} must be {want}, got {type(values[name]).__name__}",
                                  field=name)


class RunHistory(Protocol):
    """What an agent may know of other runs (the orchestrator answers)."""

    def handled(self, run_id: str, workflow: str, prefix: str) -> set[str]:
        """Keys of ``prefix:KEY`` tasks that other live runs of ``workflow`` handled (not failed or cancelled)."""
        ...

    def earlier_outputs(self, run_id: str, workflow: str, step: str) -> list[dict[str, Any]]:
        """Outputs of ``step`` in the main task of other live, succeeded runs of ``workflow``."""
        ...

    def item_outputs(self, run_id: str, workflow: str, prefix: str, step: str) -> dict[str, list[dict[str, Any]]]:
        """Per item key, outputs of ``step`` that succeeded in ``prefix:KEY`` tasks of other live runs, oldest first."""
        ...


@dataclass(frozen=True)
class AgentEnv:
    """Everything agents may use, the same for every step: read-only records, models, recall, settings.

    The runner gives each step an :class:`AgentContext` over this. Nothing
    here writes: an agent's only output is its :class:`AgentResult`, which the
    runner records.
    """

    store: Any
    """A read-only view of the store (``query``, ``one``, ``scalar``, ``events``) for agents of your own."""
    config: Any
    records: Records
    models: Callable[[], Models]
    recall: Callable[..., list[Evidence]]
    """``recall(query, k=..., where=...)``: evidence from memory, or keyword search over the records."""
    history: RunHistory
    busy: Callable[[datetime, datetime], list[tuple[datetime, datetime]] | None] | None = None
    """``busy(start, end)``: the owner's busy times in that window, from the calendar connector (None: no calendar)."""


@dataclass
class AgentContext:
    """What an agent may use during one step (see :class:`AgentEnv`), and where in which run it is."""

    env: AgentEnv
    run_id: str
    task_id: str
    step: str
    span_id: str
    workflow: str
    mode: str
    agent: str
    agent_version: str
    params: dict[str, Any] = field(default_factory=dict)
    cost: Cost = field(default_factory=Cost)

    @property
    def store(self) -> Any:
        """Read-only access to the store."""
        return self.env.store

    @property
    def config(self) -> Any:
        return self.env.config

    @property
    def records(self) -> Records:
        """Clients, contacts, projects, artifacts and time, read-only."""
        return self.env.records

    def generate(self, requests: list[GenRequest]) -> list[Generation]:
        """Generate through the model tiers; the cost lands on this step."""
        return self.env.models().generate(requests, trace=self._trace())

    def route(self, texts: list[str], labels: dict[str, list[str]], *, default: str = "other") -> list[Any]:
        """The router tier for a batch of texts; the (small) cost lands on this step."""
        return self.env.models().route(texts, labels, trace=self._trace(), default=default)

    def _trace(self) -> Any:
        """This step as the place of a model call, with its cost meter."""
        from .._models import TraceInfo

        return TraceInfo(self.run_id, self.span_id, self.agent, self.agent_version, self.workflow, meter=self.cost)

    def recall(self, query: str, *, k: int = 5, where: dict[str, Any] | None = None) -> list[Evidence]:
        """Evidence from memory (see :mod:`aios_kernel._agents._memory_seam`)."""
        return self.env.recall(query, k=k, where=where)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]] | None:
        """The owner's busy times overlapping [start, end) (aware datetimes); None when no calendar is configured
        (nothing to ask, and nowhere to hold a time proposed).

        A calendar that cannot be read raises :class:`~aios_kernel.ConnectorError`: an agent that
        proposes times must then propose none rather than guess.
        """
        return self.env.busy(start, end) if self.env.busy is not None else None

    def template(self, name: str) -> str:
        """The workspace's template called ``name`` (a built-in one if it has none)."""
        return self.env.models().templates.get(name)

    def handled(self, workflow: str, prefix: str) -> set[str]:
        """Items of ``workflow`` that other runs handled (this run and the run it replays left out)."""
        return self.env.history.handled(self.run_id, workflow, prefix)

    def earlier_outputs(self, workflow: str, step: str) -> list[dict[str, Any]]:
        """What ``step`` output in other succeeded runs of ``workflow`` (this run and its source left out)."""
        return self.env.history.earlier_outputs(self.run_id, workflow, step)

    def item_outputs(self, workflow: str, prefix: str, step: str) -> dict[str, list[dict[str, Any]]]:
        """What ``step`` of the fan-out items ``prefix:KEY`` output in other runs of ``workflow`` (a decision taken on
        an approval, say), per key, oldest first; this run and its source left out."""
        return self.env.history.item_outputs(self.run_id, workflow, prefix, step)


_REGISTRY: dict[str, Agent] = {}
_LOCK = threading.Lock()
_BUILTINS_LOADED = False


def register(agent: Agent, *, replace: bool = False) -> Agent:
    """Make ``agent`` available to workflows by its name."""
    if not agent.name:
        raise ValidationError("an agent needs a name", field="name")
    with _LOCK:
        if agent.name in _REGISTRY and not replace and _REGISTRY[agent.name] is not agent:
            raise ValidationError(f"an agent named {agent.name!r} is already registered; pass replace=True to swap it",
                                  field="name")
        _REGISTRY[agent.name] = agent
    return agent


def get(name: str) -> Agent:
    """The registered agent called ``name`` (built-ins load on first use)."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise WorkflowError(f"no agent named {name!r}; registered: {', '.join(sorted(_REGISTRY))}", field=name) from None


def registered() -> dict[str, Agent]:
    _load_builtins()
    return dict(_REGISTRY)


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    with _LOCK:
        if _BUILTINS_LOADED:
            return
        _BUILTINS_LOADED = True
    from . import _builtin

    for agent in _builtin.agents():
        _REGISTRY.setdefault(agent.name, agent)
