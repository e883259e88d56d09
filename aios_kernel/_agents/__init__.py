"""Agents: one small protocol (name, version, typed inputs/outputs, evidence, confidence, cost) and the built-ins."""

from ._protocol import (
    Agent,
    AgentContext,
    AgentEnv,
    AgentResult,
    Cost,
    Evidence,
    FunctionAgent,
    RunHistory,
    check_types,
    get,
    register,
    registered,
)

__all__ = ["Agent", "AgentContext", "AgentEnv", "AgentResult", "Cost", "Evidence", "FunctionAgent", "RunHistory", "check_types",
           "get", "register", "registered"]
