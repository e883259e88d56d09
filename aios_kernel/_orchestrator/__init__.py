"""The execution core: task broker, workflows and planner, runner, outbox, replay, the background worker."""

from . import _schema  # noqa: F401  (registers the component and its reaction to decisions)
from ._background import BackgroundWorker
from ._broker import Broker
from ._core import IN_PROCESS, Orchestrator, ResumeReport
from ._planner import Plan, Planner
from ._reads import (
    checkpoint,
    checkpoints_version,
    effect_counts,
    effects_by_key,
    effects_version,
    recent_runs,
    run_counts,
    run_summary,
    runs_by_id,
    runs_version,
)
from ._registry import get_workflow, register_workflow, workflows
from ._replay import ReplayDiff, replay_events, replay_run, replay_steps
from ._runs import Run, RunList, Task
from ._workflow import REQUIRED, ForEach, Param, Step, Workflow

__all__ = ["IN_PROCESS", "REQUIRED", "BackgroundWorker", "Broker", "ForEach", "Orchestrator", "Param", "Plan", "Planner",
           "ReplayDiff", "ResumeReport", "Run", "RunList", "Step", "Task", "Workflow", "checkpoint", "checkpoints_version",
           "effect_counts", "effects_by_key", "effects_version", "get_workflow", "recent_runs", "register_workflow", "replay_events", "replay_run",
           "replay_steps", "run_counts", "run_summary", "runs_by_id", "runs_version", "workflows"]
