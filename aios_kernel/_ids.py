"""Identifiers and clocks shared by every layer."""

from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
from datetime import UTC, datetime


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
        cached = _SECOND = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
    return f"{cached[1]}.{int((epoch - sec) * 1e6):06d}Z"


def iso(dt: datetime | None = None) -> str:
    """ISO 8601 in UTC with microseconds, the one time format written to the store."""
    if dt is None:
        return iso_at(time.time())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
