"""Identifiers and clocks shared by every layer."""

from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
from datetime import UTC, datetime

from ._errors import ValidationError


def new_id(prefix: str) -> str:
    """A new time-ordered id such as ``ev_0193a5c1f2e4b7c9d1e2a3f4``.

    Twelve hex digits of milliseconds then ten random ones: ids sort by
    creation time, and two processes writing at once do not collide.
    """
    return f"{prefix}_{int(time.time() * 1000):012x}{os.urandom(5).hex()}"


def stable_id(prefix: str, *natural_key: str) -> str:
    """A deterministic id derived from a natural key (the same input gives the same id)."""
    digest = hashlib.sha256("\x1f".join(natural_key).encode()).hexdigest()[:16]
    return f"{prefix}_{digest}"


def slug(text: str) -> str:
    """Lower-case ASCII words joined by ``-``; used for reconciliation keys and ids."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


_SECOND: tuple[int, str] = (-1, "")
"""The last whole second and its text (one tuple, swapped whole, so threads never see half of it)."""


def iso_at(epoch: float) -> str:
    """``epoch`` (seconds) in the store's time format, the text :func:`iso` gives (the clock formatted
    directly, its whole second reused: every event and step is stamped, and ``datetime`` costs five times as much)."""
    global _SECOND
    sec = int(epoch)
    cached = _SECOND
    if cached[0] != sec:
        t = time.gmtime(sec)
        cached = _SECOND = (sec, f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")
    return f"{cached[1]}.{int((epoch - sec) * 1e6):06d}Z"


def iso(dt: datetime | None = None) -> str:
    """ISO 8601 in UTC with microseconds and a four-digit year, the one time format written to the store.

    A naive ``dt`` is taken as UTC. Times that leave the calendar when moved to UTC
    (year 9999 with a negative offset) are a ValidationError; the API's converters
    (:func:`aios_kernel._values.time`) refuse them, and years outside 1900-9999, earlier.
    """
    if dt is None:
        return iso_at(time.time())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.utcoffset():
        try:
            dt = dt.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValidationError(f"time {dt!r} is out of range in UTC; use a time between the years 1900 and 9999",
                                  field="time") from exc
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
            f".{dt.microsecond:06d}Z")


_LEGACY_ISO = re.compile(r"(\d{1,4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z")


def parse_iso(text: str) -> datetime:
    """A time written by :func:`iso` (or any ISO 8601 text), timezone-aware; ValueError when it is not one.

    Versions before four-digit years wrote years below 1000 unpadded (``999-01-01T...Z``);
    those still read, so one such row never stops the reads of the others.
    """
    if not isinstance(text, str):
        raise ValueError(f"a stored time must be text, got {type(text).__name__}")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        m = _LEGACY_ISO.fullmatch(text)
        if m is None:
            raise
        year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
        dt = datetime(year, month, day, hour, minute, second, int((m[7] or "0").ljust(6, "0")), tzinfo=UTC)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def epoch(text: str | None) -> float:
    """Seconds since 1970 of a stored time (NaN for none); ValueError when it does not parse."""
    if not text:
        return float("nan")
    return parse_iso(text).timestamp()
