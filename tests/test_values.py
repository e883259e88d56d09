"""The boundary converters and the store's time format."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_kernel import ValidationError, _values
from aios_kernel._ids import epoch, iso, parse_iso
from tests.fuzz._gen import hostile, nested

IN_RANGE = st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(9999, 12, 30),
                        timezones=st.one_of(st.none(), st.timezones()))


@settings(max_examples=300, deadline=None)
@given(IN_RANGE)
def test_every_time_in_range_is_written_with_a_four_digit_year_and_reads_back(value: dt.datetime) -> None:
    t = _values.time(value, "t")
    text = iso(t)
    assert len(text) == 27 and text[4] == "-" and text.endswith("Z")
    assert parse_iso(text) == t and epoch(text) == t.timestamp()


@settings(max_examples=300, deadline=None)
@given(st.datetimes(max_value=dt.datetime(1899, 12, 30)) | st.datetimes(min_value=dt.datetime(9999, 12, 31, 23)).map(
    lambda d: d.replace(tzinfo=dt.timezone(dt.timedelta(hours=-5)))))
def test_times_outside_the_range_are_refused(value: dt.datetime) -> None:
    with pytest.raises(ValidationError) as err:
        _values.time(value, "event_time")
    assert err.value.field == "event_time"


def test_iso_writes_four_digit_years_and_parse_iso_reads_the_unpadded_ones_older_versions_wrote() -> None:
    assert iso(dt.datetime(999, 1, 1)) == "0999-01-01T00:00:00.000000Z"
    assert parse_iso("999-01-01T00:00:00.000000Z") == dt.datetime(999, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        iso(dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5))))
    with pytest.raises(ValueError):
        parse_iso("yesterday")


CONVERTERS = {
    "time": lambda v: _values.time(v, "f"), "duration": lambda v: _values.duration(v, "f"),
    "text": lambda v: _values.text(v, "f", max_chars=100), "label": lambda v: _values.label(v, "f"),
    "identifier": lambda v: _values.identifier(v, "f"), "meta": lambda v: _values.meta(v, "f"),
    "amount": lambda v: _values.amount(v, "f"), "positive_int": lambda v: _values.positive_int(v, "f", maximum=100),
    "number": lambda v: _values.number(v, "f"), "json": lambda v: _values.json_value(v, "f"),
}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(CONVERTERS)), hostile)
def test_a_converter_returns_or_refuses_with_a_validation_error_naming_the_field(name: str, value: object) -> None:
    try:
        CONVERTERS[name](value)
    except ValidationError as exc:
        assert exc.field == "f" and str(exc)


@pytest.mark.parametrize("value", [{"d": nested(100_000)}, {"d": nested(100_000, kind="dict")}, {"a": float("nan")}, {1: "a"},
                                   {"a": 2 ** 70}, {"a": "\ud800"}, {"a": "\x00"}, {"a": {1, 2}}], ids=_values.describe)
def test_meta_that_is_not_plain_json_is_refused_quickly(value: object) -> None:
    with pytest.raises(ValidationError, match="not plain JSON"):
        _values.meta(value)


def test_amounts_are_finite_decimals() -> None:
    assert _values.amount("1234.50", "total") == Decimal("1234.50") and _values.amount(0.1, "x") == Decimal("0.1")
    for bad in ("inf", "NaN", True, [1], "1" * 100):
        with pytest.raises(ValidationError):
            _values.amount(bad, "total")


def test_clean_repairs_undecodable_bytes_and_printable_escapes_surrogates() -> None:
    assert _values.clean("caf\udcc3\udca9\x00") == "café\ufffd"
    assert _values.clean("lone \ud800") == "lone \ufffd"
    assert _values.printable("a\ud800b") == "a\\ud800b"
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert _values.describe(deep).startswith("[[[") and len(_values.describe(deep)) < 100
