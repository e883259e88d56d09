"""``wb.schedules``: the schedules of a workspace, from ``aios.toml`` and from ``aios schedule add``.

A schedule in ``[schedule.NAME]`` is copied into the store when a scheduler
starts (``sync``), so the store is where every scheduler reads them; one added
from the command line lives in the store only. Pausing works for both (the
store keeps it); changing or removing a schedule of ``aios.toml`` is done there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError, NotFoundError, StateError, ValidationError
from ._cron import to_utc
from ._model import Schedule, validate_schedule
from ._params import check_parameters, resolve_notebook

if TYPE_CHECKING:
    import polars as pl

    from .._store import Store


@dataclass(frozen=True)
class ScheduleState:
    """A schedule with its state in the store."""

    schedule: Schedule
    paused: bool
    evaluated_through: datetime | None

    @property
    def name(self) -> str:
        return self.schedule.name

    @property
    def active(self) -> bool:
        return self.schedule.enabled and not self.paused

    def next_run(self, after: datetime | None = None) -> datetime | None:
        """The next tick after ``after`` (default: now), in the schedule's zone; ``None`` when paused."""
        if not self.active:
            return None
        return self.schedule.spec.next_after(after or datetime.now(UTC))

    def __repr__(self) -> str:
        s = self.schedule
        state = "paused" if self.paused else ("disabled" if not s.enabled else f"next {self.next_run():%Y-%m-%d %H:%M %Z}")
        return f"<Schedule {s.name}: {s.notebook} at '{s.cron}' {s.timezone}, {state}>"


class Schedules:
    """Read and change the schedules of one store (typed API; other layers never read its tables)."""

    def __init__(self, store: Store, *, notebooks_dir: Path | None = None, default_timezone: str = "UTC") -> None:
        self.store = store
        self.notebooks_dir = notebooks_dir
        self.default_timezone = default_timezone or "UTC"

    # -- reading ---------------------------------------------------------------------------

    def list(self) -> list[ScheduleState]:
        return [self._state(r) for r in self.store.query("SELECT * FROM schedules ORDER BY name")]

    def get(self, name: str) -> ScheduleState:
        row = self.store.one("SELECT * FROM schedules WHERE name=?", (name,))
        if row is None:
            known = ", ".join(r[0] for r in self.store.query("SELECT name FROM schedules ORDER BY name")) or "none yet"
            raise NotFoundError(f"no schedule named {name!r} (schedules: {known}); add one with `aios schedule add` or "
                                "[schedule.NAME] in aios.toml", id=name)
        return self._state(row)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.list())

    def __len__(self) -> int:
        return int(self.store.scalar("SELECT count(*) FROM schedules"))

    def __contains__(self, name: object) -> bool:
        return self.store.one("SELECT 1 FROM schedules WHERE name=?", (name,)) is not None

    def _state(self, row: Any) -> ScheduleState:
        s = validate_schedule(row["name"], json.loads(row["definition"]), source=row["source"])
        through = datetime.fromisoformat(row["evaluated_through"]) if row["evaluated_through"] else None
        return ScheduleState(s, bool(row["paused"]), through)

    def frame(self, now: datetime | None = None) -> pl.DataFrame:
        """One row per schedule: notebook, cron, zone, policies, paused, next run (in its zone and in UTC)."""
        import polars as pl

        now = to_utc(now) if now else datetime.now(UTC)
        rows = []
        for st in self.list():
            s = st.schedule
            nxt = st.next_run(now)
            rows.append({"name": s.name, "notebook": s.notebook, "cron": s.cron, "timezone": s.timezone,
                         "next_run": nxt.isoformat() if nxt else None,
                         "next_run_utc": nxt.astimezone(UTC).replace(tzinfo=None) if nxt else None,
                         "paused": st.paused, "enabled": s.enabled, "overlap": s.overlap, "catch_up": s.catch_up,
                         "timeout_s": s.timeout_s, "retries": s.retries, "source": s.source,
                         "parameters": json.dumps(s.parameters, sort_keys=True)})
        schema = {"name": pl.String, "notebook": pl.String, "cron": pl.String, "timezone": pl.String, "next_run": pl.String,
                  "next_run_utc": pl.Datetime("us"), "paused": pl.Boolean, "enabled": pl.Boolean, "overlap": pl.String,
                  "catch_up": pl.String, "timeout_s": pl.Float64, "retries": pl.Int64, "source": pl.String, "parameters": pl.String}
        return pl.DataFrame(rows, schema=schema)

    # -- changing --------------------------------------------------------------------------

    def check(self, s: Schedule, *, where: str = "") -> Schedule:
        """The notebook exists and the parameters fit its parameters cell (errors name the field and the fix).

        Returns the schedule with the parameters converted to their declared types and the notebook as a
        shipped notebook's name or an absolute path (so it does not depend on the scheduler's folder).
        """
        path = resolve_notebook(s.notebook, self.notebooks_dir, field=f"{where}notebook")
        params = check_parameters(path, s.parameters, field=f"{where}parameters")
        shipped = self.notebooks_dir is not None and path.parent == self.notebooks_dir.resolve() and not Path(s.notebook).is_absolute() \
            and not Path(s.notebook).exists()
        notebook = path.name if shipped else str(path)
        return validate_schedule(s.name, {**s.definition(), "parameters": params, "notebook": notebook}, source=s.source)

    def add(self, name: str, notebook: str, cron: str, *, timezone: str | None = None, replace: bool = False,
            **settings: Any) -> ScheduleState:
        """Define a schedule in the store (``replace=True`` to change an existing one); checked before anything is written."""
        s = validate_schedule(name, {"notebook": notebook, "cron": cron, "timezone": timezone or self.default_timezone, **settings},
                              source="cli")
        s = self.check(s)
        with self.store.atomic():
            row = self.store.one("SELECT source FROM schedules WHERE name=?", (name,))
            if row is not None and row["source"] == "config":
                raise StateError(f"schedule {name!r} is defined in aios.toml ([schedule.{name}]); change it there, or pick "
                                 "another name", id=name, state="config")
            if row is not None and not replace:
                raise StateError(f"schedule {name!r} exists; remove it first (`aios schedule remove {name}`) or pass "
                                 "--replace", id=name, state="exists")
            self.store.emit("schedule.saved", f"schedule:{name}", {"name": name, "source": "cli", "definition": s.definition()},
                            actor="operator")
        return self.get(name)

    def pause(self, name: str) -> ScheduleState:
        self.get(name)
        self.store.emit("schedule.paused", f"schedule:{name}", {"name": name}, actor="operator")
        return self.get(name)

    def resume(self, name: str) -> ScheduleState:
        """Unpause; ticks that passed while paused are not run (the next decision starts from now)."""
        self.get(name)
        with self.store.atomic():
            self.store.emit("schedule.resumed", f"schedule:{name}", {"name": name}, actor="operator")
            self.store.emit("schedule.evaluated", f"schedule:{name}", {"name": name, "through": None, "missed": 0,
                                                                      "reason": "resumed: ticks while paused are not run"})
        return self.get(name)

    def remove(self, name: str) -> None:
        st = self.get(name)
        if st.schedule.source == "config":
            raise StateError(f"schedule {name!r} is defined in aios.toml; delete its [schedule.{name}] table there",
                             id=name, state="config")
        self.store.emit("schedule.removed", f"schedule:{name}", {"name": name}, actor="operator")

    def sync(self, config_schedules: dict[str, Any], *, config_path: Path | None = None) -> list[str]:
        """Copy ``[schedule.*]`` of aios.toml into the store; a bad one is a :class:`ConfigError` naming its key.

        Returns what changed (``added x``, ``changed x``, ``removed x``); unchanged schedules write nothing.
        """
        wanted: dict[str, Schedule] = {}
        for name, raw in (config_schedules or {}).items():
            clean = {k: v for k, v in raw.items() if not (k == "timezone" and v == "")}
            clean.setdefault("timezone", self.default_timezone)
            try:
                wanted[name] = self.check(validate_schedule(name, clean, source="config", where=f"schedule.{name}."),
                                          where=f"schedule.{name}.")
            except (ValidationError, NotFoundError) as exc:
                key = getattr(exc, "field", None) or f"schedule.{name}.notebook"
                raise ConfigError(f"{config_path or 'aios.toml'}: {exc}", path=config_path, key=key) from exc
        changes: list[str] = []
        with self.store.atomic():
            have = {r["name"]: r for r in self.store.query("SELECT name, source, definition FROM schedules")}
            for name, s in wanted.items():
                old = have.get(name)
                if old is not None and old["source"] == "config" and json.loads(old["definition"]) == json.loads(
                        json.dumps(s.definition())):
                    continue
                self.store.emit("schedule.saved", f"schedule:{name}", {"name": name, "source": "config",
                                                                      "definition": s.definition()}, actor="config")
                changes.append(f"{'changed' if old is not None else 'added'} {name}")
            for name, old in have.items():
                if old["source"] == "config" and name not in wanted:
                    self.store.emit("schedule.removed", f"schedule:{name}", {"name": name}, actor="config")
                    changes.append(f"removed {name}")
        return changes
