"""The projections' invariants that ``Store.verify`` checks besides the chain.

Components declare which columns hold JSON and which hold the store's times
(``Component.invariants``). Every such value must decode (JSON) or parse and
lie within the years the workbench accepts (times). A row that breaks one was
written by hand or by an older version; readers skip it (with a warning) rather
than fail, and verify names it here so it can be corrected.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from .._ids import parse_iso
from .._limits import LIMITS
from . import _json
from ._schema import Component

SHOWN = 3
"""Offending rows named per column; the rest are counted."""


def bad_time(value: object) -> str | None:
    """Why ``value`` is not a usable stored time (None when it is one, or empty)."""
    if value is None or value == "":
        return None
    try:
        dt = parse_iso(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        return "does not parse as a time"
    if not LIMITS.min_year <= dt.year <= LIMITS.max_year:
        return f"is outside the years {LIMITS.min_year}-{LIMITS.max_year}"
    return None


def bad_json(value: object) -> str | None:
    """Why ``value`` is not a usable JSON column (None when it decodes)."""
    if value is None:
        return None
    try:
        _json.loads(value)  # type: ignore[arg-type]
    except _json.DECODE_ERRORS:
        return "does not decode as JSON"
    return None


def check(conn: sqlite3.Connection, comps: dict[str, Component]) -> list[str]:
    """One problem line per column holding values that break its invariant."""
    problems: list[str] = []
    for comp in comps.values():
        for kind, columns, why in (("JSON", comp.json_columns, bad_json), ("time", comp.time_columns, bad_time)):
            for table, cols in columns.items():
                if not _exists(conn, table):
                    continue
                key = _key_column(conn, table)
                for col in cols:
                    problems.extend(_check_column(conn, table, key, col, kind, why))
    return problems


def _check_column(conn: sqlite3.Connection, table: str, key: str, col: str, kind: str, why) -> Iterable[str]:  # type: ignore[no-untyped-def]
    bad: list[str] = []
    count = 0
    for row_key, value in conn.execute(f'SELECT {key}, "{col}" FROM {table} WHERE "{col}" IS NOT NULL'):
        reason = why(value)
        if reason is None:
            continue
        count += 1
        if len(bad) < SHOWN:
            shown = repr(value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "...")
            bad.append(f"{key} {row_key}: {shown} {reason}")
    if count:
        more = f" and {count - len(bad)} more" if count > len(bad) else ""
        yield (f"{table}.{col}: {count} {kind} value(s) that break the store's rules ({'; '.join(bad)}{more}); readers "
               "leave out rows they cannot read. Write a corrected record through the API, or restore from a snapshot")


def _exists(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name=?", (table,)).fetchone() is not None


def _key_column(conn: sqlite3.Connection, table: str) -> str:
    cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    for name in ("id", "seq", "hash"):
        if name in cols:
            return name
    return "rowid"
