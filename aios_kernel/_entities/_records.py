"""Reading and writing canonical records as events (never by direct SQL)."""

from __future__ import annotations

import warnings
from typing import Any

from .. import _values
from .._errors import NotFoundError, StoreError, ValidationError
from .._limits import LIMITS
from .._store import Event, Store
from .._store import _json
from ._schema import JSON_COLUMNS, KIND_OF_TABLE, TABLE_OF_KIND, TABLES


def get(store: Store, table: str, id: str) -> dict[str, Any] | None:
    """The current row of ``table`` with id ``id`` as a dict (JSON columns parsed)."""
    row = store.one(f"SELECT * FROM {_table(table)} WHERE id = ?", (id,))
    if row is None:
        return None
    try:
        return _decode(dict(row))
    except _json.DECODE_ERRORS:
        raise StoreError(f"{KIND_OF_TABLE[_table(table)]} {id} is damaged in the store (a JSON column does not decode); "
                         "`aios verify` names such rows. Ingest its source again, or restore from a snapshot") from None


def rows(store: Store, table: str, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """All rows of ``table`` (optionally filtered by a SQL ``where`` clause); a damaged row is left out, with a warning."""
    sql = f"SELECT * FROM {_table(table)}" + (f" WHERE {where}" if where else "") + " ORDER BY rowid"
    out, damaged = [], []
    for r in store.query(sql, params):
        try:
            out.append(_decode(dict(r)))
        except _json.DECODE_ERRORS:
            damaged.append(str(r["id"]))
    if damaged:
        warnings.warn(f"{len(damaged)} {table} row(s) could not be read and were left out ({', '.join(damaged[:3])}"
                      f"{' ...' if len(damaged) > 3 else ''}); `aios verify` names what is wrong",
                      _json.DamagedRowWarning, stacklevel=2)
    return out


def upsert(store: Store, table: str, row: dict[str, Any], *, actor: str, correlation_id: str | None = None,
           cause_id: str | None = None) -> Event | None:
    """Write ``row`` as a ``<kind>.upserted`` event; ``None`` when nothing changed.

    Unchanged rows write nothing, so re-ingesting the same source is a no-op
    and the event log only holds real changes.
    """
    table = _table(table)
    columns = TABLES[table]
    unknown = set(row) - set(columns)
    if unknown:
        raise ValidationError(f"{table} has no column(s) {', '.join(sorted(unknown))}; known: {', '.join(columns)}", field=sorted(unknown)[0])
    if not row.get("id"):
        raise ValidationError(f"a {KIND_OF_TABLE[table]} needs an id", field="id")
    _values.identifier(row["id"], "id")
    for column, value in row.items():
        _check_value(table, column, value)
    full = {c: row.get(c) for c in columns}
    try:
        current = get(store, table, row["id"])
    except StoreError:  # a damaged row: the new one replaces it
        current = {}
    if current:
        current.pop("event_seq", None)
        if _json.dumps(current) == _json.dumps(full):
            return None
    kind = KIND_OF_TABLE[table]
    return store.emit(f"{kind}.upserted", f"{kind}:{row['id']}", {"row": full, "created": current is None},
                      actor=actor, correlation_id=correlation_id, cause_id=cause_id)


def _check_value(table: str, column: str, value: Any) -> None:
    """A column value the projection can hold: JSON columns plain JSON, others text (no lone surrogates or NULs),
    a finite number, or None."""
    if column in JSON_COLUMNS:
        _values.json_value(value, column)
    elif isinstance(value, str):
        _values.text(value, column, max_chars=LIMITS.max_file_bytes, allow_empty=True)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        _values.json_value(value, column)  # finite, and an integer SQLite can store
    else:
        raise ValidationError(f"{table}.{column} must be text, a number or None, got {type(value).__name__}", field=column)


def remove(store: Store, table: str, id: str, *, actor: str, reason: str) -> Event:
    """Remove a record, keeping the event (and so the history) with its reason."""
    table = _table(table)
    if get(store, table, id) is None:
        raise NotFoundError(f"no {KIND_OF_TABLE[table]} with id {id!r}", id=id)
    kind = KIND_OF_TABLE[table]
    return store.emit(f"{kind}.removed", f"{kind}:{id}", {"reason": reason}, actor=actor)


def _table(name: str) -> str:
    table = TABLE_OF_KIND.get(name, name)
    if table not in TABLES:
        raise ValidationError(f"unknown entity table {name!r}; known: {', '.join(TABLES)}", field="table")
    return table


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for col in JSON_COLUMNS & row.keys():
        row[col] = _json.loads(row[col])
    return row
