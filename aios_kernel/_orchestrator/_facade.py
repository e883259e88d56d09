"""What the execution core adds to :class:`~aios_kernel.Workbench`.

Everything here is a thin shortcut to the parts (``wb.orchestrator``,
``wb.models``, ``wb.approvals``), created on first use so opening a
workspace stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from .._models import Models
    from .._observability import Narrative
    from .._policy import ApprovalBook
    from ._core import Orchestrator, ResumeReport
    from ._planner import Plan
    from ._replay import ReplayDiff
    from ._runs import Run, RunList
    from ._workflow import Workflow


class ExecutionMixin:
    """Runs, approvals, models, traces and costs of a workspace."""

    _parts: dict[str, Any]

    # -- parts ---------------------------------------------------------------------------------

    @property
    def orchestrator(self) -> Orchestrator:
        """The task broker, runner, outbox and approvals of this workspace."""
        if "orchestrator" not in self._parts:
            from ._core import Orchestrator

            self._parts["orchestrator"] = Orchestrator(self)
        return self._parts["orchestrator"]

    @property
    def models(self) -> Models:
        """Generation and routing through the model tiers (``wb.models.generate([...])``)."""
        if "models" not in self._parts:
            from .._models import Models

            self._parts["models"] = Models(self.store, self.config)  # type: ignore[attr-defined]
        return self._parts["models"]

    @property
    def approvals(self) -> ApprovalBook:
        """Decisions waiting for you: ``wb.approvals.pending()``, then ``a.approve()`` / ``a.reject(reason)``."""
        return self.orchestrator.approvals

    # -- runs ----------------------------------------------------------------------------------

    def submit(self, workflow: str, params: dict[str, Any] | None = None, idempotency_key: str | None = None,
               **kwargs: Any) -> Run:
        """Queue a run of ``workflow`` (``inbox_triage``, ``meeting_followup``, ``invoicing``, ``weekly_content``)."""
        return self.orchestrator.submit(workflow, params, idempotency_key, **kwargs)

    def run(self, workflow: str, params: dict[str, Any] | None = None, idempotency_key: str | None = None,
            **kwargs: Any) -> Run:
        """Submit and run until done or waiting for approval."""
        return self.orchestrator.run(workflow, params, idempotency_key, **kwargs)

    def simulate(self, workflow: str, params: dict[str, Any] | None = None) -> Run:
        """Run ``workflow`` with every side effect proposed, none executed (``run.proposed_effects()``)."""
        return self.orchestrator.run(workflow, params, mode="simulate")

    def run_pending(self, **kwargs: Any) -> int:
        """Run every due task (waits for retries up to ``[orchestrator] max_wait_s``)."""
        return self.orchestrator.run_pending(**kwargs)

    def resume(self) -> ResumeReport:
        """After a crash or decisions: reclaim dead leases, reconcile effects, carry work forward."""
        return self.orchestrator.resume()

    def get_run(self, run_id: str) -> Run:
        return self.orchestrator.get_run(run_id)

    def runs(self, **kwargs: Any) -> RunList:
        """Recent runs, newest first (``limit``, ``status``, ``workflow``)."""
        return self.orchestrator.runs(**kwargs)

    def requeue(self, task_id: str) -> None:
        """Give a dead-lettered task a fresh retry budget."""
        self.orchestrator.requeue(task_id)

    def workflows(self) -> dict[str, Workflow]:
        from ._registry import workflows

        return workflows()

    def plan(self, goal: Any, **params: Any) -> Plan:
        """Map a goal (text, a goal name, or a list) to workflows with filled parameters; ``plan.submit()`` runs them."""
        from ._planner import Planner

        return Planner(self).plan(goal, **params)

    # -- replay --------------------------------------------------------------------------------

    def replay(self, run_id: str, *, from_step: str | int | None = None, allow_side_effects: bool = False) -> Run:
        """Re-run a past run from a checkpoint; effects are simulated unless ``allow_side_effects``."""
        from ._replay import replay_run

        return replay_run(self.orchestrator, run_id, from_step=from_step, allow_side_effects=allow_side_effects)

    def replay_steps(self, step: str, fn: Any, *, workflow: str | None = None) -> ReplayDiff:
        """Recorded ``step`` checkpoints recomputed by ``fn`` (an agent or a function): what would change."""
        from ._replay import replay_steps

        return replay_steps(self, step, fn, workflow=workflow)

    def replay_events(self, event_types: str | list[str], fn: Any) -> ReplayDiff:
        """Recorded events' payloads passed through ``fn``: what would change."""
        from ._replay import replay_events

        return replay_events(self.store, event_types, fn)  # type: ignore[attr-defined]

    # -- traces and costs ------------------------------------------------------------------------

    def trace(self, run_id: str) -> pl.DataFrame:
        """Every span of a run (run, tasks, steps, model and connector calls) as a polars DataFrame."""
        from .._observability import trace

        return trace(self.store, run_id)  # type: ignore[attr-defined]

    def costs(self, by: str = "workflow") -> pl.DataFrame:
        """Model spending by ``"workflow"`` or ``"day"`` (also ``"run"``, ``"agent"``, ``"tier"``)."""
        from .._observability import costs

        return costs(self.store, by)  # type: ignore[attr-defined]

    def narrative(self, run_id: str) -> Narrative:
        """A run's business events as sentences: who, what, why, evidence."""
        from .._observability import narrative

        return narrative(self.store, run_id)  # type: ignore[attr-defined]

    def timeline(self, run_id: str, path: str | Path | None = None) -> Any:
        """A static matplotlib timeline of a run."""
        from .._observability import timeline

        return timeline(self.store, run_id, path=path)  # type: ignore[attr-defined]

    def export_otel(self, run_id: str, path: str | Path | None = None) -> dict[str, Any]:
        """A run's spans as OpenTelemetry OTLP/JSON (written to ``path`` if given)."""
        from .._observability import export_otel

        return export_otel(self.store, run_id, path)  # type: ignore[attr-defined]
