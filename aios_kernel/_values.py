"""Converters for values that cross the boundary: one per kind of value.

Every way in (the memory API, approvals, ``aios.toml``, ingest) turns what it is
given into the workbench's own form here, before anything is written: a time
becomes an aware UTC ``datetime`` within years 1900-9999, a text a ``str``
without lone surrogates or NULs, meta a JSON-safe dict of bounded depth and
size with finite numbers, an amount a finite ``Decimal``, and so on. Code
inside the boundary trusts what came through.

A wrong type or a value out of range is a :class:`~aios_kernel._errors.ValidationError`
whose ``field`` names the argument and whose message says what to pass instead.
Limits come from :mod:`aios_kernel._limits`.

Files from outside (e-mails, notes) are not refused for a stray byte:
:func:`clean` repairs their text (lone surrogates and NULs become U+FFFD), and
:func:`printable` makes any text safe to put in a message or a log.
"""

from __future__ import annotations

import math
import operator
import re
import reprlib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ._errors import ValidationError
from ._limits import LIMITS, Limits

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_TIME_TEXT = 200


def _type(value: Any) -> str:
    return type(value).__name__


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 3, 60, 60, 4, 4


def describe(value: Any) -> str:
    """``repr`` of any value for a message: bounded in length and depth (a value nested 100,000 deep included),
    and safe to print."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001  (a caller's object whose __repr__ fails)
        text = f"<{_type(value)}>"
    text = printable(text)
    return text if len(text) <= 80 else text[:77] + "..."


def printable(text: str) -> str:
    """``text`` with lone surrogates written as escapes: safe for messages, logs and UTF-8 files."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clean(text: str) -> str:
    """Text read from an outside file, repaired: undecodable bytes and lone surrogates become U+FFFD, NULs too."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:  # bytes the parser kept as surrogate escapes: read them as UTF-8
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


# -- texts ---------------------------------------------------------------------------------


def text(value: Any, field: str, *, max_chars: int, allow_empty: bool = False, allow_bytes: bool = False,
         single_line: bool = False) -> str:
    """A ``str`` of at most ``max_chars`` characters, valid Unicode, without NULs (nor line breaks when ``single_line``)."""
    if allow_bytes and isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"{field} is not valid UTF-8 (byte {raw[exc.start:exc.start + 1]!r} at position {exc.start}); "
                "decode it with the right encoding first, e.g. data.decode('latin-1')", field=field) from exc
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a str, got {_type(value)}", field=field)
    if len(value) > max_chars:
        raise ValidationError(f"{field} has {len(value):,} characters, more than the limit of {max_chars:,}; "
                              "shorten it or split it", field=field)
    if not allow_empty and not value.strip():
        raise ValidationError(f"{field} is empty or only whitespace; give it a value", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{field} holds characters that are not valid Unicode (lone surrogate at position {exc.start}); "
                              "decode the source bytes with errors='replace' or fix the encoding", field=field) from exc
    bad = _CONTROL.search(value) if single_line else None
    if bad is not None:
        raise ValidationError(f"{field} holds a control character at position {bad.start()}; keep it to one line of text",
                              field=field)
    if "\x00" in value:
        raise ValidationError(f"{field} holds a NUL character at position {value.index(chr(0))}; remove it", field=field)
    return value


def label(value: Any, field: str, *, limits: Limits = LIMITS) -> str:
    """A short one-line text such as who decided (``by=``) or an option name."""
    return text(value, field, max_chars=limits.max_label_chars, single_line=True)


def reason(value: Any, field: str = "reason", *, allow_empty: bool = True, limits: Limits = LIMITS) -> str:
    """A reason or note kept in the audit trail."""
    return text(value, field, max_chars=limits.max_reason_chars, allow_empty=allow_empty)


def identifier(value: Any, field: str, *, limits: Limits = LIMITS) -> str:
    """An id or reference: a non-empty one-line ``str`` of at most ``max_id_chars`` characters."""
    return text(value, field, max_chars=limits.max_id_chars, single_line=True)


def optional_identifier(value: Any, field: str, *, limits: Limits = LIMITS) -> str | None:
    return None if value is None else identifier(value, field, limits=limits)


# -- JSON values (meta, edits) -------------------------------------------------------------------


def json_value(value: Any, field: str, *, limits: Limits = LIMITS) -> Any:
    """``value`` if it is plain JSON within the limits: str keys, finite numbers, 64-bit ints, bounded depth and size.

    Walked without recursion, so a value nested 100,000 deep is refused as quickly as one
    nested 33 deep. Tuples count as lists.
    """
    try:
        _walk_json(value, field, limits)
    except ValidationError as exc:
        raise ValidationError(f"{field} is not plain JSON: {exc}", field=field) from None
    return value


def _walk_json(value: Any, field: str, limits: Limits) -> None:
    max_int = (1 << limits.max_int_bits) - 1
    size = 0
    stack: list[tuple[Any, int, str]] = [(value, 1, field)]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, str):
            text(node, where, max_chars=limits.max_json_chars, allow_empty=True)
            size += len(node) + 2
        elif node is None or isinstance(node, bool):
            size += 5
        elif isinstance(node, int):
            if not -max_int - 1 <= node <= max_int:
                raise ValidationError(f"{where} is {describe(node)}, outside the 64-bit integer range; store it as a string",
                                      field=field)
            size += 20
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ValidationError(f"{where} is {node!r}; use a finite number or None", field=field)
            size += 24
        elif isinstance(node, (dict, list, tuple)) or isinstance(node, Mapping):
            if depth > limits.max_json_depth:
                raise ValidationError(f"{field} is nested more than {limits.max_json_depth} levels deep; flatten it",
                                      field=field)
            if isinstance(node, (list, tuple)):
                stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(node))
                size += 2 + len(node)
            else:
                for k, v in node.items():
                    if not isinstance(k, str):
                        raise ValidationError(f"{where} has the key {describe(k)}; keys must be strings", field=field)
                    text(k, f"{where} key", max_chars=limits.max_id_chars, allow_empty=True)
                    stack.append((v, depth + 1, f"{where}[{printable(k)[:40]!r}]"))
                    size += len(k) + 4
        else:
            raise ValidationError(f"{where} is a {_type(node)}; use str, int, float (not NaN/inf), bool, None, "
                                  "lists and dicts with string keys", field=field)
        if size > limits.max_json_chars:
            raise ValidationError(f"it is larger than {limits.max_json_chars:,} characters as JSON; keep bulky data "
                                  "in the text or in a file and refer to it", field=field)


def meta(value: Any, field: str = "meta", *, limits: Limits = LIMITS) -> dict[str, Any]:
    """A meta dict (``None`` is an empty one), checked by :func:`json_value`."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} must be a dict, got {_type(value)}", field=field)
    return json_value(dict(value), field, limits=limits)


def like(value: Any, old: Any, field: str, *, limits: Limits = LIMITS) -> Any:
    """``value`` checked to be of the same JSON kind as ``old``, the value it replaces (an edit).

    A text stays a text, a number a number, a list of texts a list of texts; ``None``
    (an unset field) takes any plain JSON value.
    """
    json_value(value, field, limits=limits)
    if old is None:
        return value
    kinds = (bool, str, (int, float), (list, tuple), Mapping)
    names = ("true or false", "text", "a number", "a list", "a dict")
    for kind, name in zip(kinds, names):
        if isinstance(old, kind) and not (kind == (int, float) and isinstance(old, bool)):
            ok = isinstance(value, kind) and not (kind == (int, float) and isinstance(value, bool))
            if not ok:
                raise ValidationError(f"{field} was {name} ({describe(old)}); the edit must be {name} too, got {describe(value)}",
                                      field=field)
            if kind == (list, tuple) and old and value:
                for i, item in enumerate(value):
                    like(item, old[0], f"{field}[{i}]", limits=limits)
            return value
    return value


# -- numbers -------------------------------------------------------------------------------------


def number(value: Any, field: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """A finite real number (not a bool) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{field} must be a number, got {describe(value)}", field=field)
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise ValidationError(f"{field} must be a finite number, got {describe(value)}", field=field)
    if minimum is not None and out < minimum or maximum is not None and out > maximum:
        raise ValidationError(f"{field} must be between {minimum} and {maximum}, got {describe(value)}", field=field)
    return out


def positive_int(value: Any, field: str, *, maximum: int) -> int:
    """An int (not a bool) from 1 to ``maximum``."""
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be a positive int, got {value!r}", field=field)
    try:
        out = operator.index(value)
    except TypeError:
        raise ValidationError(f"{field} must be a positive int, got {describe(value)}", field=field) from None
    if not 1 <= out <= maximum:
        raise ValidationError(f"{field} must be a positive int (1 to {maximum:,}), got {describe(value)}", field=field)
    return out


def amount(value: Any, field: str) -> Decimal:
    """Money as a finite ``Decimal`` (from a Decimal, an int, a float or a numeric string)."""
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be an amount, got {value!r}", field=field)
    try:
        if isinstance(value, Decimal):
            out = value
        elif isinstance(value, int):
            out = Decimal(value)
        elif isinstance(value, float):
            out = Decimal(repr(value))
        elif isinstance(value, str) and len(value) <= 64:
            out = Decimal(value.strip())
        else:
            raise ValidationError(f"{field} must be an amount (Decimal, int or a numeric string), got {describe(value)}",
                                  field=field)
    except InvalidOperation:
        raise ValidationError(f"{field} {describe(value)} is not a number; write it like '1234.50'", field=field) from None
    if not out.is_finite():
        raise ValidationError(f"{field} must be a finite amount, got {describe(value)}", field=field)
    return out


# -- times -----------------------------------------------------------------------------------------


def _bounds(limits: Limits) -> tuple[datetime, datetime]:
    return (datetime(limits.min_year, 1, 1, tzinfo=UTC),
            datetime(limits.max_year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))


def time(value: Any, field: str, *, parse: Callable[[str], datetime | None] | None = None,
         limits: Limits = LIMITS) -> datetime:
    """An aware UTC ``datetime`` within the years ``min_year``-``max_year``.

    Takes a ``datetime`` (naive: UTC), a ``date`` (midnight UTC), epoch seconds,
    or an ISO 8601 string; ``parse`` reads other strings (e.g. "8 May 2023").
    """
    lo, hi = _bounds(limits)
    span = f"between {lo.year} and {hi.year}"
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be a time, got {value!r}", field=field)
    dt: datetime | None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, (int, float)):
        seconds = float(value) if not isinstance(value, int) or abs(value) < 1 << 53 else math.copysign(math.inf, value)
        if not math.isfinite(seconds) or not lo.timestamp() <= seconds <= hi.timestamp():
            raise ValidationError(f"{field} {describe(value)} as epoch seconds is not a time {span}", field=field)
        dt = datetime.fromtimestamp(seconds, UTC)
    elif isinstance(value, str):
        s = value.strip()
        if len(s) > _MAX_TIME_TEXT:
            raise ValidationError(f"{field} is {len(s):,} characters long, too long for a time", field=field)
        dt = None
        if s:
            try:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00")) if s.isascii() else None
            except ValueError:
                dt = None
            if dt is None and parse is not None:
                try:
                    dt = parse(s)
                except (ValueError, OverflowError):
                    dt = None
        if dt is None:
            raise ValidationError(f"{field} {describe(value)} is not a time; pass a datetime, a date or an ISO string "
                                  "like '2023-05-08T13:56'", field=field)
    else:
        raise ValidationError(f"{field} must be a datetime, a date, epoch seconds or an ISO string, got {_type(value)}",
                              field=field)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError(f"{field} {describe(value)} is out of range; use a time {span}", field=field) from None
    if not lo <= dt <= hi:
        raise ValidationError(f"{field} {describe(value)} is out of range; use a time {span}", field=field)
    return dt


def optional_time(value: Any, field: str, *, parse: Callable[[str], datetime | None] | None = None,
                  limits: Limits = LIMITS) -> datetime | None:
    """:func:`time`, with ``None`` and ``""`` meaning no time."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return time(value, field, parse=parse, limits=limits)


def duration(value: Any, field: str, *, max_days: float = LIMITS.max_ttl_days) -> timedelta:
    """A positive ``timedelta`` of at most ``max_days``, from a timedelta or a number of days."""
    if isinstance(value, timedelta):
        days = value.total_seconds() / 86400
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        days = float(value) if not isinstance(value, int) or abs(value) < 1 << 53 else math.inf
    else:
        raise ValidationError(f"{field} must be a positive number of days or a timedelta, got {describe(value)}", field=field)
    if not math.isfinite(days) or days <= 0 or days > max_days:
        raise ValidationError(f"{field} must be more than 0 and at most {max_days:,g} days, got {describe(value)}",
                              field=field)
    return value if isinstance(value, timedelta) else timedelta(days=days)
