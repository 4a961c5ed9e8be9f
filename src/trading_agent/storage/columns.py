"""Column types that behave the same on SQLite and PostgreSQL.

- :class:`ExactDecimal`: money. PostgreSQL gets an unconstrained ``NUMERIC`` (exact, any scale).
  SQLite has no exact decimal type: its ``NUMERIC`` affinity turns ``'0.1'`` into a binary float,
  so there the value is stored as its canonical text and read back as the same ``Decimal``
  (SQL arithmetic and ordering on those columns are therefore textual on SQLite: do money sums in
  Python, which the engine does anyway).
- :func:`key_string`: names in primary keys (exchange, symbol, timeframe). On PostgreSQL they use
  the ``"C"`` collation, so B-tree comparisons are plain ``memcmp`` instead of locale-aware
  ``strcoll`` (several times cheaper on the candle primary key, which compares three names per
  probe on a server whose default collation is e.g. ``en_US.UTF-8``).
- :data:`JSON_DOCUMENT`: ``JSONB`` on PostgreSQL (indexable), ``JSON`` text on SQLite.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["JSON_DOCUMENT", "ExactDecimal", "key_string"]

JSON_DOCUMENT: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


def key_string(length: int) -> TypeEngine[str]:
    """A ``VARCHAR(length)`` for key names, with the byte-wise ``"C"`` collation on PostgreSQL."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC`` on PostgreSQL, canonical text on SQLite.

    Only ``Decimal`` and ``int`` values are accepted (a float would already have lost exactness);
    NaN and infinities are refused.
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Decimal | str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"exact decimal columns take Decimal or int, got {type(value).__name__} {value!r}")
        exact = Decimal(value)
        if not exact.is_finite():
            raise ValueError(f"exact decimal columns take finite values, got {value}")
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)
