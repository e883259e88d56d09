"""The execution core: task broker, workflows and planner, runner, outbox, replay."""

from ._broker import Broker
from ._core import Orchestrator, ResumeReport
from ._facade import ExecutionMixin
from ._registry import get_workflow, register_workflow, workflows
from ._runs import Run, RunList, Task
from ._workflow import REQUIRED, ForEach, Param, Step, Workflow

__all__ = ["REQUIRED", "Broker", "ExecutionMixin", "ForEach", "Orchestrator", "Param", "ResumeReport", "Run", "RunList",
           "Step", "Task", "Workflow", "get_workflow", "register_workflow", "workflows"]
