"""What a connector can do: its actions, their input schema, and how each is undone.

An :class:`Action` names its fields in the workbench's vocabulary (addresses,
text, amounts with a currency, times with a zone, ids) and says whether it
can be undone and by which action. ``Action.validate`` is the one check every
payload passes before a connector sees it: a wrong or missing field is a
``ValidationError`` naming it, and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .._errors import ValidationError

KINDS = ("text", "address", "addresses", "amount", "currency", "time", "id", "bool", "int", "list", "dict")


@dataclass(frozen=True)
class Field:
    """One input of an action."""

    name: str
    kind: str = "text"
    required: bool = True
    max_len: int = 100_000
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"field {self.name}: unknown kind {self.kind!r}; one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class Action:
    """An action a connector performs: its fields, and whether (and how) it can be undone."""

    name: str
    fields: tuple[Field, ...] = ()
    reversible: bool = False
    compensation: str | None = None
    """The action that undoes this one (``void_invoice`` for ``issue_invoice``); None when the world cannot undo it."""
    open: bool = True
    """Fields beyond the declared ones pass through unchecked (e.g. an invoice's rendered document)."""
    fact: str | None = None
    """What the action, once applied, establishes (``sent``, ``issued``): kept as a signed memory. None: nothing."""

    def validate(self, payload: Mapping[str, Any], *, connector: str = "") -> dict[str, Any]:
        """The payload, its declared fields checked (left as given: the intent records what was approved);
        raises ValidationError naming a bad field."""
        if not isinstance(payload, Mapping):
            raise ValidationError(f"{connector}.{self.name}: the payload must be a dict of fields, got {type(payload).__name__}",
                                  field="payload")
        out = dict(payload)
        declared = {f.name for f in self.fields}
        if not self.open:
            extra = sorted(set(out) - declared)
            if extra:
                raise ValidationError(f"{connector}.{self.name} takes no field {extra[0]!r} (fields: {', '.join(sorted(declared))})",
                                      field=extra[0])
        for f in self.fields:
            value = out.get(f.name)
            if value is None or value == "" or value == []:
                if f.required:
                    raise ValidationError(f"{connector}.{self.name} needs {f.name!r}" + (f" ({f.help})" if f.help else ""),
                                          field=f.name)
                continue
            _check(f, value, f"{connector}.{self.name}")
        return out


def _check(f: Field, value: Any, where: str) -> Any:
    def bad(why: str) -> ValidationError:
        return ValidationError(f"{where}: {f.name} {why}", field=f.name)

    if f.kind == "text":
        if not isinstance(value, str):
            raise bad(f"must be text, got {type(value).__name__}")
        if len(value) > f.max_len:
            raise bad(f"is {len(value)} characters long; at most {f.max_len}")
        if "\x00" in value:
            raise bad("contains a NUL character")
        return value
    if f.kind == "address":
        return address(value, field=f.name, where=where)
    if f.kind == "addresses":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items:
            raise bad("must be one address or a list of addresses")
        return [address(v, field=f.name, where=where) for v in items]
    if f.kind == "amount":
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise bad(f"is not an amount: {value!r}") from None
        if not amount.is_finite():
            raise bad("must be a finite amount")
        return str(amount)
    if f.kind == "currency":
        if not (isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper()):
            raise bad(f"must be an ISO 4217 code such as EUR, got {value!r}")
        return value
    if f.kind == "time":
        text = value.isoformat() if isinstance(value, datetime) else value
        try:
            parsed = datetime.fromisoformat(str(text))
        except ValueError:
            raise bad(f"is not an ISO 8601 time: {value!r}") from None
        if parsed.tzinfo is None:
            raise bad("needs a time zone (e.g. 2026-12-03T10:00:00+01:00)")
        return parsed.isoformat()
    if f.kind == "id":
        if not isinstance(value, str) or not value or len(value) > 200 or any(c.isspace() for c in value):
            raise bad(f"must be an id without spaces, got {value!r}")
        return value
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if f.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("must be a whole number")
        return value
    if f.kind == "list":
        if not isinstance(value, list):
            raise bad("must be a list")
        return value
    if not isinstance(value, dict):
        raise bad("must be a table of fields")
    return value


def address(value: Any, *, field: str = "to", where: str = "") -> str:
    """An e-mail address, checked (internationalised ones included) and normalised; ValidationError otherwise."""
    from email_validator import EmailNotValidError, validate_email

    prefix = f"{where}: " if where else ""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{prefix}{field} must be an e-mail address, got {value!r}", field=field)
    try:
        validate_email(value.strip(), check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise ValidationError(f"{prefix}{field}: {value.strip()!r} is not an e-mail address ({exc})", field=field) from None
    return value.strip()


