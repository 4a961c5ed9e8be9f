"""Exact decimals on both databases: text on SQLite, NUMERIC on PostgreSQL, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from trading_agent.storage.columns import ExactDecimal

SQLITE = sqlite.dialect()
POSTGRES = postgresql.dialect()


def test_sqlite_stores_canonical_text_and_reads_the_same_decimal() -> None:
    column = ExactDecimal()
    for value in (Decimal("0.1"), Decimal("65000.50"), Decimal("-0.00000001"), Decimal("123456789012345.123456789")):
        stored = column.process_bind_param(value, SQLITE)
        assert stored == str(value)
        assert column.process_result_value(stored, SQLITE) == value
        assert str(column.process_result_value(stored, SQLITE)) == str(value)  # trailing zeros kept


def test_postgres_gets_decimals_and_ints_are_exact() -> None:
    column = ExactDecimal()
    assert column.process_bind_param(Decimal("0.1"), POSTGRES) == Decimal("0.1")
    assert column.process_bind_param(7, POSTGRES) == Decimal(7)
    assert column.process_bind_param(None, POSTGRES) is None
    assert column.process_result_value(Decimal("2.50"), POSTGRES) == Decimal("2.50")


@pytest.mark.parametrize("value", [0.1, True, "1.0"])
def test_inexact_types_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="exact decimal columns take Decimal or int"):
        ExactDecimal().process_bind_param(value, SQLITE)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="finite"):
        ExactDecimal().process_bind_param(value, POSTGRES)
