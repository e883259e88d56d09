"""Resolving a step's input references and guards against a task's state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import WorkflowError
from .._store import Store
from ._workflow import parse_ref

MEMORY_KINDS = {"artifact": "artifacts", "client": "clients", "project": "projects", "contact": "contacts"}


def lookup(scope: Mapping[str, Any], ref: str, *, step: str = "") -> Any:
    """The value at ``$name.path`` in ``scope``; a missing step output is a WorkflowError."""
    parsed = parse_ref(ref)
    if parsed is None:
        raise WorkflowError(f"{ref!r} is not a reference", step=step)
    head, path = parsed
    if head not in scope:
        raise WorkflowError(f"step {step!r}: ${head} has no value yet (did its step run?)", step=step, field=head)
    value = scope[head]
    for i, part in enumerate(path):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            where = "$" + ".".join([head, *path[:i + 1]])
            raise WorkflowError(f"step {step!r}: {where} does not exist (have: {_keys(value)})", step=step, field=where)
    return value


def resolve(value: Any, scope: Mapping[str, Any], store: Store | None = None, *, step: str = "") -> Any:
    """Replace every ``$ref`` and ``@kind:id`` inside ``value`` by what it points at."""
    kind = type(value)
    if kind is int or kind is float or kind is bool or value is None:
        return value  # most literal inputs: no ABC isinstance checks (this runs for every input of every step)
    if kind is str or isinstance(value, str):
        if value.startswith("$"):
            return lookup(scope, value, step=step)
        if value.startswith("@") and ":" in value and store is not None:
            return memory_ref(store, value[1:], step=step)
        return value
    if kind is dict or isinstance(value, Mapping):
        return {k: resolve(v, scope, store, step=step) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, scope, store, step=step) for v in value]
    return value


def memory_ref(store: Store, ref: str, *, step: str = "") -> dict[str, Any]:
    """A record by ``kind:id`` (``artifact:ar_…``), as a dict."""
    from .. import _entities

    kind, _, ident = ref.partition(":")
    table = MEMORY_KINDS.get(kind)
    if table is None:
        raise WorkflowError(f"step {step!r}: @{ref} names an unknown kind {kind!r} (known: {', '.join(MEMORY_KINDS)})", step=step)
    row = _entities.get(store, table, ident)
    if row is None:
        raise WorkflowError(f"step {step!r}: @{ref} does not exist in memory", step=step, field=ref)
    return row


def guard(expr: str | None, scope: Mapping[str, Any], *, step: str = "") -> bool:
    """Evaluate ``when``: a reference's truthiness, optionally negated with ``not``."""
    if not expr:
        return True
    text = expr.strip()
    negate = text.startswith("not ")
    if negate:
        text = text[4:].strip()
    value = bool(lookup(scope, text, step=step))
    return not value if negate else value


def _keys(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(map(str, list(value)[:12])) or "nothing"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return type(value).__name__
