"""Live views of runs and tasks: every attribute reads the store, so a Run
held in a notebook cell always shows the current state."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from .._errors import NotFoundError
from .._store import Store, _json

if TYPE_CHECKING:
    import polars as pl

    from ._core import Orchestrator

STATUS_COLOURS = {"succeeded": "#1a7f37", "failed": "#cf222e", "compensated": "#9a6700", "cancelled": "#6e7781",
                  "waiting_approval": "#0969da", "running": "#8250df", "pending": "#6e7781", "leased": "#8250df"}


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#6e7781")
    return (f"<span style='background:{colour};color:white;border-radius:8px;padding:0 6px;font-size:90%'>"
            f"{html.escape(status)}</span>")


def _conf(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def run_row(store: Store, run_id: str) -> dict[str, Any]:
    """The ``runs`` row of ``run_id`` with params and allowance parsed; an unknown id is a NotFoundError."""
    row = store.one("SELECT * FROM runs WHERE id=?", (run_id,))
    if row is None:
        raise NotFoundError(f"no run {run_id!r}; `%aios runs` lists the recent ones", id=run_id)
    d = dict(row)
    d["params"] = _json.loads(d["params"])
    d["allowance"] = _json.loads(d["allowance"])
    return d


class Task:
    """One task of a run: its state, attempts, error and steps."""

    def __init__(self, orch: Orchestrator, row: dict[str, Any]) -> None:
        self._orch = orch
        self._row = row

    def __getattr__(self, name: str) -> Any:
        row = self.__dict__["_row"]
        if name in row:
            return row[name]
        raise AttributeError(name)

    def refresh(self) -> Task:
        self._row = self._orch.broker.get(self._row["id"])
        return self

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Checkpoints of this task (``phase`` ``do``, and ``undo`` for compensations)."""
        rows = self._orch.store.query("SELECT * FROM steps WHERE task_id=? ORDER BY idx, phase", (self._row["id"],))
        out = []
        for r in rows:
            d = dict(r)
            for col in ("outputs", "evidence", "cost"):
                d[col] = _json.loads(d[col])
            out.append(d)
        return out

    def outputs(self) -> dict[str, Any]:
        """Outputs of the completed steps, by step name."""
        return {s["name"]: s["outputs"] for s in self.steps if s["phase"] == "do"}

    def __repr__(self) -> str:
        err = f" error={self._row['error']!r}" if self._row.get("error") else ""
        return f"<Task {self._row['name']} {self._row['status']} attempts={self._row['attempts']}{err}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{s['idx']}</td><td>{html.escape(s['name'])}</td><td>{html.escape(s['phase'])}</td>"
            f"<td>{html.escape(str(s['agent']))}@{html.escape(str(s['agent_version']))}</td><td>{_badge(s['status'])}</td>"
            f"<td>{_conf(s['confidence'])}</td></tr>" for s in self.steps)
        err = f"<p style='color:#cf222e'>{html.escape(self._row['error'])}</p>" if self._row.get("error") else ""
        return (f"<div><b>task {html.escape(self._row['name'])}</b> {_badge(self._row['status'])} "
                f"<code>{html.escape(self._row['id'])}</code>{err}<table><tr><th>#</th><th>step</th><th>phase</th>"
                f"<th>agent</th><th>status</th><th>confidence</th></tr>{rows}</table></div>")


class Run:
    """A run of a workflow. ``run.status`` is always current."""

    def __init__(self, orch: Orchestrator, run_id: str) -> None:
        self._orch = orch
        self.id = run_id

    def _row(self) -> dict[str, Any]:
        return self._orch.run_row(self.id)

    @property
    def status(self) -> str:
        return str(self._orch.store.scalar("SELECT status FROM runs WHERE id=?", (self.id,)))

    @property
    def workflow(self) -> str:
        return self._row()["workflow"]

    @property
    def params(self) -> dict[str, Any]:
        return self._row()["params"]

    @property
    def mode(self) -> str:
        return self._row()["mode"]

    @property
    def error(self) -> str | None:
        return self._row()["error"]

    @property
    def info(self) -> dict[str, Any]:
        """The whole ``runs`` row."""
        return self._row()

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed", "compensated", "cancelled")

    @property
    def tasks(self) -> list[Task]:
        from ._broker import decode

        rows = self._orch.store.query("SELECT * FROM queue WHERE run_id=? ORDER BY created_at, rowid", (self.id,))
        return [Task(self._orch, decode(r)) for r in rows]

    def task(self, name: str = "main") -> Task:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(f"run {self.id} has no task {name!r}")

    @property
    def approvals(self) -> list[Any]:
        return self._orch.approvals.all(run_id=self.id)

    @property
    def effects(self) -> list[dict[str, Any]]:
        """Rows of the outbox for this run: applied, intended or simulated side effects."""
        return self._orch.outbox.effects(self.id)

    def proposed_effects(self) -> list[dict[str, Any]]:
        """What a simulation would have done: the simulated effects with their payloads."""
        return [e for e in self.effects if e["status"] == "simulated"]

    @property
    def waiting_on(self) -> list[str]:
        """Why tasks of this run wait (one line per waiting task)."""
        rows = self._orch.store.query("SELECT name, error FROM queue WHERE run_id=? AND status='waiting_approval'", (self.id,))
        return [f"{r['name']}: {r['error'] or 'waiting for approval'}" for r in rows]

    def outputs(self, task: str = "main") -> dict[str, Any]:
        return self.task(task).outputs()

    @property
    def workspace(self) -> Any:
        """The orchestrator this run belongs to (its ``store``, ``config`` and ``paths``), for views of the run."""
        return self._orch

    def refresh(self) -> Run:
        return self

    def trace(self) -> pl.DataFrame:
        from .._observability import trace

        return trace(self._orch.store, self.id)

    def narrative(self) -> Any:
        from .._observability import narrative

        return narrative(self._orch.store, self.id)

    def cost(self) -> dict[str, Any]:
        from .._policy import spent

        return spent(self._orch.store, run_id=self.id).to_json()

    def plot(self, path: Any = None) -> Any:
        from .._observability import timeline

        return timeline(self._orch.store, self.id, path=path)

    def __repr__(self) -> str:
        row = self._row()
        extra = f" error={row['error']!r}" if row["error"] else ""
        return f"<Run {self.id} {row['workflow']} {row['status']} mode={row['mode']}{extra}>"

    def _repr_html_(self) -> str:
        row = self._row()
        tasks = self.tasks
        trs = "".join(
            f"<tr><td>{html.escape(t.name)}</td><td>{_badge(t.status)}</td><td>{t.cursor}</td><td>{t.attempts}</td>"
            f"<td style='color:#cf222e'>{html.escape(t.error or '')}</td></tr>" for t in tasks[:40])
        more = f"<p>… and {len(tasks) - 40} more tasks</p>" if len(tasks) > 40 else ""
        pending = [a for a in self.approvals if a.is_open]
        appr = f"<p>{len(pending)} approval(s) waiting: <code>wb.approvals.pending()</code></p>" if pending else ""
        err = f"<p style='color:#cf222e'>{html.escape(row['error'])}</p>" if row["error"] else ""
        return (f"<div class='aios-run'><b>{html.escape(row['workflow'])}</b> {_badge(row['status'])} "
                f"<code>{html.escape(self.id)}</code> <span style='opacity:.7'>mode {html.escape(row['mode'])}, "
                f"params {html.escape(str(row['params']))}</span>{err}{appr}"
                f"<table><tr><th>task</th><th>status</th><th>next step</th><th>failed tries</th><th>error</th></tr>{trs}"
                f"</table>{more}</div>")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


class RunList(list):  # type: ignore[type-arg]
    """Runs, newest first, shown as a table."""

    def frame(self) -> pl.DataFrame:
        import polars as pl

        rows = []
        for r in self:
            d = r.info
            rows.append({"id": d["id"], "workflow": d["workflow"], "status": d["status"], "mode": d["mode"],
                         "created_at": d["created_at"], "finished_at": d["finished_at"], "error": d["error"]})
        return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()

    def __str__(self) -> str:
        if not self:
            return "no runs yet: wb.submit(WORKFLOW, params) or `aios run WORKFLOW`"
        lines = []
        for r in self:
            d = r.info
            lines.append(f"{d['id']}  {d['workflow']:<18} {d['status']:<17} {d['created_at'][:19]}"
                         + (f"  {d['error'][:80]}" if d["error"] else ""))
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(r.id)}</code></td><td>{html.escape(d['workflow'])}</td><td>{_badge(d['status'])}</td>"
            f"<td>{html.escape(d['mode'])}</td><td>{html.escape(d['created_at'][:19])}</td>"
            f"<td style='color:#cf222e'>{html.escape((d['error'] or '')[:120])}</td></tr>"
            for r in self for d in [r.info])
        return (f"<table class='aios-runs'><tr><th>run</th><th>workflow</th><th>status</th><th>mode</th><th>created</th>"
                f"<th>error</th></tr>{rows}</table>")
