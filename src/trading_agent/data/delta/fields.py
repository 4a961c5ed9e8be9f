"""Typed reading of Delta's JSON records: decimals arrive as strings, integers unquoted, times as µs or ISO.

A missing or malformed required field raises ``ExchangeError`` naming the record and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from trading_agent.data.errors import ExchangeError

__all__ = ["Record"]

_PERCENT = Decimal(100)


class Record:
    """A JSON object from Delta; ``what`` names it in error messages (``"product BTCUSD"``)."""

    def __init__(self, raw: Any, what: str) -> None:
        if not isinstance(raw, Mapping):
            raise ExchangeError(f"Delta {what}: expected a JSON object, got {type(raw).__name__}")
        self.raw: Mapping[str, Any] = raw
        self.what = what

    @classmethod
    def named(cls, raw: Any, kind: str, key: str = "symbol") -> Record:
        """A record called ``"<kind> <raw[key]>"`` in error messages (``"product BTCUSD"``)."""
        name = raw.get(key) if isinstance(raw, Mapping) else None
        return cls(raw, kind if name is None else f"{kind} {name}")

    def fail(self, name: str, problem: str) -> ExchangeError:
        """The error to raise for a bad field ``name``: names the record, the field and its value."""
        return ExchangeError(f"Delta {self.what}: field {name!r} {problem} (got {self.raw.get(name)!r})")

    def text(self, name: str) -> str:
        """A required non-empty string."""
        value = self.raw.get(name)
        if not isinstance(value, str) or not value:
            raise self.fail(name, "must be a non-empty string")
        return value

    def optional_text(self, name: str) -> str | None:
        """A string, or None when absent or null."""
        value = self.raw.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int:
        """A required integer (also accepted as a digit string)."""
        value: Any = self.raw.get(name)
        if isinstance(value, bool | float):
            raise self.fail(name, "must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self.fail(name, "must be an integer") from None

    def optional_decimal(self, name: str, *, percent: bool = False) -> Decimal | None:
        """A decimal (string or number), or None when absent, null or empty; ``percent`` divides by 100."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise self.fail(name, "must be a decimal number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(name, "must be a decimal number") from None
        if not number.is_finite():
            raise self.fail(name, "must be finite")
        return number / _PERCENT if percent else number

    def decimal(self, name: str, *, percent: bool = False) -> Decimal:
        """A required decimal (string or number); ``percent`` divides by 100."""
        value = self.optional_decimal(name, percent=percent)
        if value is None:
            raise self.fail(name, "is required")
        return value

    def time_ms(self, name: str) -> int:
        """A required time as epoch ms; Delta sends µs (integer or digit string) or ISO-8601 with a zone."""
        value = self.raw.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value // 1000
        if isinstance(value, str) and value.isdigit():
            return int(value) // 1000
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise self.fail(name, "must be µs since the epoch or ISO-8601") from None
            if parsed.tzinfo is not None:
                return int(parsed.timestamp() * 1000)
        raise self.fail(name, "must be µs since the epoch or ISO-8601 with a zone")

    def nested(self, name: str) -> Record:
        """A required nested object."""
        return Record(self.raw.get(name), f"{self.what} {name}")
