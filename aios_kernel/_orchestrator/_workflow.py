"""Declarative workflow templates.

A workflow is a list of steps run in order by one task, optionally followed
by a fan-out: one child task per item of a list an earlier step produced,
each running its own short list of steps. Read one top to bottom::

    Workflow(
        "invoicing", "Invoices from the month's timesheets",
        params={"month": Param(str, pattern=r"\\d{4}-\\d{2}", help="YYYY-MM")},
        steps=[
            Step("hours", agent="invoicing.hours", inputs={"month": "$params.month"}),
            Step("compute", agent="invoicing.compute", inputs={"projects": "$hours.projects"}),
        ],
        foreach=ForEach("invoice", items="$compute.invoices", key="number", steps=[
            Step("issue", agent="executor", action="issue_invoice", inputs={"invoice": "$item"},
                 compensate="void_invoice"),
        ]),
    )

Inputs are references: ``$params.NAME``, ``$item`` (the fan-out item),
``$STEP.FIELD`` (an earlier step's output), ``@artifact:ID`` (a record in
memory); anything else is a literal. ``when`` is a guard (``"$classify.needs_reply"``
or ``"not ..."``): a step whose guard is false is recorded as skipped.
``action`` makes a step a side effect: it goes through policy (maybe an
approval) and the outbox. ``compensate`` names the action (or ``agent:NAME``)
that undoes it if a later step fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import ValidationError, WorkflowError

REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
"""Sentinel default: the parameter must be given."""

_REF = re.compile(r"^\$([A-Za-z_][\w]*)((?:\.[\w-]+)*)$")


@dataclass(frozen=True)
class Param:
    """One workflow parameter: type, default, and the checks its value must pass."""

    type: type = str
    default: Any = REQUIRED
    help: str = ""
    pattern: str | None = None
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None

    def check(self, workflow: str, name: str, value: Any) -> Any:
        where = f"parameter {name!r} of workflow {workflow!r}"
        value = _coerce(value, self.type, where, name)
        if self.pattern and isinstance(value, str) and value and not re.fullmatch(self.pattern, value):
            raise ValidationError(f"{where} must look like {self.help or self.pattern}, got {value!r}", field=name)
        if self.choices is not None and value not in self.choices:
            raise ValidationError(f"{where} must be one of {', '.join(map(repr, self.choices))}, got {value!r}", field=name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.min is not None and value < self.min:
                raise ValidationError(f"{where} must be at least {self.min}, got {value!r}", field=name)
            if self.max is not None and value > self.max:
                raise ValidationError(f"{where} must be at most {self.max}, got {value!r}", field=name)
        return value


def _coerce(value: Any, kind: type, where: str, name: str) -> Any:
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    if isinstance(value, str):  # from the CLI (--param k=v) or a notebook widget
        try:
            if kind is bool and value.lower() in ("true", "1", "yes", "false", "0", "no"):
                return value.lower() in ("true", "1", "yes")
            if kind is int:
                return int(value)
            if kind is float:
                return float(value)
        except ValueError:
            pass
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise ValidationError(f"{where} must be {kind.__name__}, got {value!r} ({type(value).__name__})", field=name)


@dataclass(frozen=True)
class Step:
    """One unit of work: an agent call, or (with ``action``) a side effect through the outbox."""

    name: str
    agent: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    when: str | None = None
    action: str | None = None
    connector: str = "ledger"
    compensate: str | None = None
    approval: str | None = None
    """Force an approval point (``"review"`` or ``"options"``) whatever the policy says."""
    covered_by: str | None = None
    """An earlier step whose human approval also covers this action (e.g. sending the invoice just approved)."""
    retries: Mapping[str, int] | None = None
    """Per error type (``transient``, ``error``, ``model``): tries before giving up, overriding the defaults."""


@dataclass(frozen=True)
class ForEach:
    """Fan-out: one child task per item of ``items``, each running ``steps``."""

    name: str
    items: str
    steps: list[Step]
    key: str = "id"
    """Field of an item that names its task (``NAME:KEY``): the same item is never enqueued twice."""


@dataclass(frozen=True)
class Workflow:
    """A named, versioned template: parameters, steps, optional fan-out."""

    name: str
    description: str
    steps: list[Step]
    params: Mapping[str, Param] = field(default_factory=dict)
    foreach: ForEach | None = None
    intents: tuple[str, ...] = ()
    """Phrases the planner's router matches goals against."""
    version: int = 1
    priority: int = 0
    budget_key: str | None = None

    def __post_init__(self) -> None:
        check_structure(self)

    def validate_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Parameters with defaults filled in; a ValidationError names the first bad field."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(self.params) or "none"
            raise ValidationError(f"workflow {self.name!r} has no parameter {unknown[0]!r} (its parameters: {known})",
                                  field=unknown[0])
        out: dict[str, Any] = {}
        for name, spec in self.params.items():
            if name in params and params[name] is not None:
                out[name] = spec.check(self.name, name, params[name])
            elif spec.default is REQUIRED:
                raise ValidationError(f"workflow {self.name!r} needs parameter {name!r} ({spec.help or spec.type.__name__})",
                                      field=name)
            else:
                out[name] = spec.default
        return out

    def steps_of(self, template: str) -> list[Step]:
        if template == "main":
            return self.steps
        if self.foreach is not None and template == self.foreach.name:
            return self.foreach.steps
        raise WorkflowError(f"workflow {self.name!r} has no task template {template!r}")

    @property
    def connectors(self) -> list[str]:
        return sorted({s.connector for s in self.steps if s.action})

    def describe(self) -> str:
        """The template as a reader would sketch it."""
        lines = [f"{self.name} v{self.version}: {self.description}"]
        if self.params:
            lines.append("  params: " + ", ".join(f"{n}={'REQUIRED' if p.default is REQUIRED else repr(p.default)}"
                                                  for n, p in self.params.items()))
        lines += [f"  {i + 1}. {_describe(s)}" for i, s in enumerate(self.steps)]
        if self.foreach:
            lines.append(f"  for each {self.foreach.name} in {self.foreach.items}:")
            lines += [f"     - {_describe(s)}" for s in self.foreach.steps]
        return "\n".join(lines)


def _describe(step: Step) -> str:
    text = f"{step.name} [{step.agent}]"
    if step.action:
        text += f" → {step.action} via {step.connector}"
    if step.when:
        text += f" when {step.when}"
    if step.compensate:
        text += f" (undo: {step.compensate})"
    return text


def parse_ref(text: str) -> tuple[str, list[str]] | None:
    """``$a.b.c`` → ("a", ["b", "c"]); None for a literal."""
    m = _REF.match(text)
    if not m:
        return None
    return m.group(1), [p for p in m.group(2).split(".") if p]


def refs_in(value: Any) -> list[str]:
    """Every ``$`` reference inside an input value (nested dicts and lists too)."""
    if isinstance(value, str):
        guard = value[4:] if value.startswith("not ") else value
        parsed = parse_ref(guard.strip())
        return [parsed[0]] if parsed else []
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in refs_in(v)]
    return []


def check_structure(wf: Workflow) -> None:
    """Refuse templates whose references cannot resolve: errors name the step and the reference."""
    if not wf.steps:
        raise WorkflowError(f"workflow {wf.name!r} has no steps", field="steps")

    def check(steps: list[Step], known: set[str], scope: str) -> set[str]:
        seen = set(known)
        for step in steps:
            if step.name in seen - {"params", "item"} or step.name in ("params", "item"):
                raise WorkflowError(f"workflow {wf.name!r}: step name {step.name!r} is used twice or reserved", step=step.name)
            for ref in refs_in(dict(step.inputs)) + refs_in(step.when or ""):
                if ref not in seen:
                    raise WorkflowError(f"workflow {wf.name!r}, {scope} step {step.name!r}: ${ref} is neither a parameter, "
                                        "the item, nor an earlier step", step=step.name, field=ref)
            if step.covered_by and step.covered_by not in seen:
                raise WorkflowError(f"workflow {wf.name!r}: step {step.name!r} is covered_by {step.covered_by!r}, "
                                    "which is not an earlier step", step=step.name)
            seen.add(step.name)
        return seen

    main = check(wf.steps, {"params"}, "main")
    if wf.foreach is not None:
        ref = parse_ref(wf.foreach.items)
        if ref is None or ref[0] not in main:
            raise WorkflowError(f"workflow {wf.name!r}: foreach items {wf.foreach.items!r} must reference a main step's output",
                                field="foreach")
        check(wf.foreach.steps, {"params", "item"}, f"{wf.foreach.name}")
