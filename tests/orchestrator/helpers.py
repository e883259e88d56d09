"""Small workflows and agents for the execution-core tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aios_kernel import AgentResult, ConnectorError, Evidence, FunctionAgent, Step, Workflow, register_agent, register_workflow


def count_file(path: Path, name: str) -> None:
    """Append ``name`` to ``path``: how many times a step really ran, across processes."""
    with path.open("a") as fh:
        fh.write(name + "\n")


def define(name: str, steps: list[Step], **kwargs: Any) -> Workflow:
    return register_workflow(Workflow(name, f"test workflow {name}", steps, **kwargs), replace=True)


def agent(name: str, fn, **kwargs: Any) -> FunctionAgent:  # type: ignore[no-untyped-def]
    return register_agent(FunctionAgent(name, fn, **kwargs), replace=True)  # type: ignore[return-value]


def add_one(ctx, *, value: int = 0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"value": value + 1}


def render_effect(ctx, *, item: dict[str, Any] | None = None, text: str = "hello") -> AgentResult:  # type: ignore[no-untyped-def]
    return AgentResult({"payload": {"text": text, **(item or {})}, "title": f"effect {text}"},
                       evidence=[Evidence("artifact:none", text, "test")], confidence=0.9)


class FlakyConnector:
    """FaultyConnector: fails ``failures`` times with a transient error, then appends to the real ledger."""

    def __init__(self, inner: Any, failures: int, transient: bool = True) -> None:
        self.inner, self.failures, self.transient, self.calls = inner, failures, transient, 0
        self.name = inner.name

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectorError("the target is down (provoked)", connector=self.name, transient=self.transient)
        return self.inner.apply(key, action, payload)

    def was_applied(self, key: str) -> dict[str, Any] | None:
        return self.inner.was_applied(key)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:  # declared actions, preview, learned: the real connector's
        return getattr(self.inner, name)
