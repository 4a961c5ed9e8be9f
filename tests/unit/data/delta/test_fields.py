"""Typed access to Delta's JSON records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading_agent.data.delta.fields import Record
from trading_agent.data.errors import ExchangeError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_700_000_000_123_456, 1_700_000_000_123),
        ("1700000000123456", 1_700_000_000_123),
        ("2023-11-14T22:13:20.123Z", 1_700_000_000_123),
        ("2023-11-14T22:13:20+00:00", 1_700_000_000_000),
    ],
)
def test_times_in_microseconds_or_iso(value: object, expected: int) -> None:
    assert Record({"t": value}, "x").time_ms("t") == expected


@pytest.mark.parametrize("value", ["yesterday", "2023-11-14T22:13:20", None, 1.5])
def test_bad_times(value: object) -> None:
    with pytest.raises(ExchangeError, match="field 't'"):
        Record({"t": value}, "x").time_ms("t")


def test_integers_refuse_floats_and_booleans() -> None:
    assert Record({"n": "42"}, "x").integer("n") == 42
    for bad in (1.5, True, None, "4x"):
        with pytest.raises(ExchangeError, match="must be an integer"):
            Record({"n": bad}, "x").integer("n")


def test_decimals() -> None:
    record = Record({"a": "0.5", "b": 2, "c": "", "d": "NaN", "e": True}, "x")
    assert record.decimal("a", percent=True) == Decimal("0.005")
    assert record.decimal("b") == Decimal(2)
    assert record.optional_decimal("c") is None
    with pytest.raises(ExchangeError, match="finite"):
        record.decimal("d")
    with pytest.raises(ExchangeError, match="decimal"):
        record.decimal("e")
    with pytest.raises(ExchangeError, match="required"):
        record.decimal("missing")


def test_records_must_be_objects_and_are_named() -> None:
    with pytest.raises(ExchangeError, match="expected a JSON object"):
        Record([1], "x")
    assert Record.named({"symbol": "BTCUSD"}, "product").what == "product BTCUSD"
    assert Record.named({}, "product").what == "product"
