"""The one JSON encoding written to the store (canonical, so hashes are stable)."""

from __future__ import annotations

import json
from typing import Any

from .._errors import ValidationError


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""Built once: ``json.dumps`` with options builds an encoder per call, which is a fifth of the cost of a payload."""


def dumps(value: Any, *, field: str = "payload") -> str:
    """Canonical JSON: sorted keys, no NaN, UTF-8 kept as is.

    Raises ValidationError naming ``field`` when the value is not plain JSON
    (NaN, infinity, sets, objects), so nothing unserialisable reaches the log.
    """
    try:
        return _ENCODER.encode(value)
    except RecursionError:
        raise ValidationError(f"{field} is nested too deeply to store; flatten it (at most a few dozen levels)",
                              field=field) from None
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{field} is not plain JSON ({exc}); use str, int, float (not NaN/inf), bool, None, lists and dicts with string keys",
            field=field,
        ) from exc


def loads(text: str | None) -> Any:
    """Parse JSON written by :func:`dumps` (``None`` stays ``None``).

    A column that does not decode (written by hand, or by an older version) raises
    :data:`DECODE_ERRORS`; readers of many rows catch them and skip that row.
    """
    return None if text is None else json.loads(text)


DECODE_ERRORS = (ValueError, TypeError, RecursionError)
"""What :func:`loads` raises for a stored column that is not JSON (or is nested past the parser's stack)."""


class DamagedRowWarning(UserWarning):
    """A stored row that does not decode was left out of a read (``aios verify`` names it)."""
