"""A schedule: which notebook, when, with what, and what to do when runs are late or overlap.

Policies (the words used in ``aios.toml``, the CLI and the store):

overlap, when a tick comes due while an earlier run of the same schedule is still going:
    ``skip`` (default)   record the new tick as skipped
    ``buffer_one``       keep one tick queued, started when the running one ends; further ones are skipped
    ``cancel_other``     cancel the running one (its kernel is killed, the run recorded ``cancelled``), start the new one
    ``allow``            run both

catch_up, for ticks missed while no scheduler ran (found more than ``grace_s`` after their time):
    ``latest`` (default) one coalesced run for the newest missed tick, the others recorded as skipped
    ``none``             every missed tick recorded as skipped
    ``all``              every missed tick within ``catch_up_window_s``, at most ``catch_up_max`` (the newest), oldest first
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .._errors import ValidationError
from ._cron import Cron

OVERLAP = ("skip", "buffer_one", "cancel_other", "allow")
CATCH_UP = ("latest", "none", "all")
STATUSES = ("queued", "pending", "running", "succeeded", "failed", "timed_out", "crashed", "cancelled", "skipped")
"""``queued``: waiting for an overlapping run to end; ``pending``: claimed, not started; the last six are final."""
FINAL = frozenset(("succeeded", "failed", "timed_out", "crashed", "cancelled", "skipped"))

DEFAULTS: dict[str, Any] = {
    "parameters": {}, "timezone": "UTC", "timeout_s": 3600.0, "retries": 0, "overlap": "skip", "catch_up": "latest",
    "catch_up_window_s": 86400.0, "catch_up_max": 10, "grace_s": 300.0, "resume": True, "enabled": True,
}
KEYS = ("notebook", "cron", *DEFAULTS)


@dataclass(frozen=True)
class Schedule:
    """One recurring pipeline; ``source`` says where it is defined (``config``: aios.toml, ``cli``: the store)."""

    name: str
    notebook: str
    cron: str
    timezone: str = "UTC"
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 3600.0
    retries: int = 0
    overlap: str = "skip"
    catch_up: str = "latest"
    catch_up_window_s: float = 86400.0
    catch_up_max: int = 10
    grace_s: float = 300.0
    resume: bool = True
    """Call ``wb.resume()`` before the notebook starts, so decisions taken since the last run are carried out first."""
    enabled: bool = True
    source: str = "cli"

    @property
    def spec(self) -> Cron:
        return Cron(self.cron, self.timezone)

    def definition(self) -> dict[str, Any]:
        """The fields that define the schedule (what an ``aios.toml`` table holds)."""
        d = asdict(self)
        d.pop("name")
        d.pop("source")
        return d

    def with_changes(self, **changes: Any) -> Schedule:
        return validate_schedule(self.name, {**self.definition(), **changes}, source=self.source)


def check_name(name: str) -> str:
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name or ""):
        raise ValidationError(f"schedule name {name!r} is not usable: use 1-64 letters, digits, '_', '-' or '.', "
                              "starting with a letter or digit (e.g. morning_triage)", field="name")
    return name


def validate_schedule(name: str, raw: dict[str, Any], *, source: str = "cli", where: str = "") -> Schedule:
    """A :class:`Schedule` from settings, or a :class:`ValidationError` naming the first wrong field and the fix.

    ``where`` prefixes field names (``schedule.morning.`` for aios.toml).
    """
    check_name(name)
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], KEYS, n=1)
        raise ValidationError(f"{where}{unknown[0]} is not a schedule setting" + (f" (did you mean {close[0]!r}?)" if close else
                              f"; known: {', '.join(KEYS)}"), field=f"{where}{unknown[0]}")
    v = {**DEFAULTS, **raw}
    if not isinstance(v.get("notebook"), str) or not v["notebook"].strip():
        raise ValidationError(f"{where}notebook is missing: name the notebook to run (a file under notebooks/, e.g. "
                              "daily_ops.ipynb, or a path)", field=f"{where}notebook")
    spec = Cron.parse(v.get("cron", ""), v["timezone"], field=f"{where}cron", tz_field=f"{where}timezone")
    if not isinstance(v["parameters"], dict):
        raise ValidationError(f"{where}parameters must be a table of name = value, got {v['parameters']!r}",
                              field=f"{where}parameters")
    for key in ("timeout_s", "catch_up_window_s", "grace_s"):
        x = v[key]
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0:
            raise ValidationError(f"{where}{key} must be a positive number of seconds, got {x!r}", field=f"{where}{key}")
    for key in ("retries", "catch_up_max"):
        x = v[key]
        if isinstance(x, bool) or not isinstance(x, int) or x < 0:
            raise ValidationError(f"{where}{key} must be a whole number from 0, got {x!r}", field=f"{where}{key}")
    if v["overlap"] not in OVERLAP:
        raise ValidationError(f"{where}overlap must be one of {', '.join(OVERLAP)}, got {v['overlap']!r}", field=f"{where}overlap")
    if v["catch_up"] not in CATCH_UP:
        raise ValidationError(f"{where}catch_up must be one of {', '.join(CATCH_UP)}, got {v['catch_up']!r}",
                              field=f"{where}catch_up")
    for key in ("resume", "enabled"):
        if not isinstance(v[key], bool):
            raise ValidationError(f"{where}{key} must be true or false, got {v[key]!r}", field=f"{where}{key}")
    return Schedule(name=name, notebook=v["notebook"].strip(), cron=spec.expr, timezone=spec.tz, parameters=dict(v["parameters"]),
                    timeout_s=float(v["timeout_s"]), retries=int(v["retries"]), overlap=v["overlap"], catch_up=v["catch_up"],
                    catch_up_window_s=float(v["catch_up_window_s"]), catch_up_max=int(v["catch_up_max"]),
                    grace_s=float(v["grace_s"]), resume=bool(v["resume"]), enabled=bool(v["enabled"]), source=source)


__all__ = ["CATCH_UP", "FINAL", "OVERLAP", "STATUSES", "Schedule", "replace", "validate_schedule"]
