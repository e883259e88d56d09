"""The arguments of a decision, checked before anything is decided (see ``Approval``'s methods).

Who decides (``by``) is a short label, a reason a bounded text, an option a name,
``until`` an ISO time or datetime within years 1900-9999 (written in the store's
form, so it compares as a time), and each edited value keeps the kind of the
payload field it replaces: an address stays text, a list of addresses a list of texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _values
from .._errors import ValidationError
from .._ids import iso


def by(value: Any) -> str:
    return _values.label(value, "by")


def reason(value: Any) -> str:
    return _values.reason(value, "reason")


def option(value: Any) -> str:
    return _values.label(value, "option")


def until(value: Any) -> str | None:
    """``None`` (until someone looks again) or a time, as the store writes times."""
    if value is None:
        return None
    return iso(_values.time(value, "until"))


def edits(value: Any, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """``None`` or a dict of payload field -> new value of the same kind as the old one."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"edits must be a dict of payload fields to change, got {type(value).__name__}", field="edits")
    out: dict[str, Any] = {}
    for key, new in value.items():
        if not isinstance(key, str):
            raise ValidationError(f"edits' keys are payload field names, got {type(key).__name__}", field="edits")
        _values.identifier(key, "edits")
        out[key] = _values.like(new, payload.get(key), key)  # a field the payload lacks is refused by the book
    return out
