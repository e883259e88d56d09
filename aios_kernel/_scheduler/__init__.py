"""Schedules and pipeline runs: notebooks as recurring workflows.

The domain half of scheduling: what a schedule is (:class:`Schedule`, cron in an
IANA zone, overlap and catch-up policies), which ticks are due at an instant
(:func:`decide`, a pure function of the clock), the parameters a notebook
declares, and the records in the store (:class:`Schedules`, :class:`PipelineRuns`)
with the transactions that make each tick run once, whoever starts it. Running
the notebooks (papermill, the watchdog, Dask) is ``aios_kernel.pipelines``.
"""

from . import _schema  # noqa: F401  (registers the component)
from ._clock import Clock, ManualClock, SystemClock
from ._compare import RunComparison, compare
from ._cron import Cron, parse_instant, zone
from ._decide import Decision, decide
from ._model import CATCH_UP, FINAL, OVERLAP, STATUSES, Schedule, validate_schedule
from ._morning import MorningView, morning_view
from ._owner import alive, kill_group, me
from ._params import Parameter, check_parameters, declared, resolve_notebook
from ._runs import Claimed, PipelineRun, PipelineRuns
from ._schedules import Schedules, ScheduleState

__all__ = ["CATCH_UP", "FINAL", "OVERLAP", "STATUSES", "Claimed", "Clock", "Cron", "Decision", "ManualClock", "MorningView",
           "Parameter", "PipelineRun", "PipelineRuns", "RunComparison", "Schedule", "ScheduleState", "Schedules", "SystemClock",
           "alive", "check_parameters", "compare", "decide", "declared", "kill_group", "me", "morning_view", "parse_instant",
           "resolve_notebook", "validate_schedule", "zone"]
