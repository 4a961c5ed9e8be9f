"""Candle timeframes: the blueprint's twelve, UTC-aligned.

Alignment follows the exchanges: intraday and daily buckets start at multiples of their length
since the Unix epoch; ``3d`` buckets too (Binance's convention); ``1w`` buckets start on Monday
00:00 UTC.
"""

from __future__ import annotations

from enum import StrEnum

from trading_agent.domain.errors import DomainError

__all__ = ["Timeframe", "UnknownTimeframeError"]

_MINUTE_MS = 60_000
_DAY_MS = 1440 * _MINUTE_MS
_WEEK_MS = 7 * _DAY_MS
# 1970-01-01 was a Thursday: weeks start 3 days earlier, on Monday 1969-12-29.
_WEEK_OFFSET_MS = 3 * _DAY_MS


class UnknownTimeframeError(DomainError):
    """A timeframe string that is not one of the supported ones."""


class Timeframe(StrEnum):
    """A candle length. The value is the exchange spelling (``"1h"``)."""

    M1 = "1m"
    M3 = "3m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H2 = "2h"
    H4 = "4h"
    H6 = "6h"
    D1 = "1d"
    D3 = "3d"
    W1 = "1w"

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """Return the timeframe spelled ``text``; raise naming the allowed values otherwise."""
        try:
            return cls(text.strip())
        except ValueError:
            allowed = ", ".join(tf.value for tf in cls)
            raise UnknownTimeframeError(f"unknown timeframe {text!r}: allowed are {allowed}") from None

    @property
    def ms(self) -> int:
        """Length in milliseconds."""
        return _LENGTH_MS[self]

    @property
    def offset_ms(self) -> int:
        """Where bucket 0 starts relative to the epoch (non-zero only for weeks)."""
        return -_WEEK_OFFSET_MS if self is Timeframe.W1 else 0

    def bucket_start(self, ts_ms: int) -> int:
        """Open time of the bucket that contains ``ts_ms``."""
        shifted = ts_ms - self.offset_ms
        return ts_ms - shifted % self.ms

    def is_aligned(self, ts_ms: int) -> bool:
        """Whether ``ts_ms`` is the open time of a bucket of this timeframe."""
        return (ts_ms - self.offset_ms) % self.ms == 0

    def divides(self, other: Timeframe) -> bool:
        """Whether candles of this timeframe aggregate exactly into ``other``."""
        if other.ms < self.ms or other.ms % self.ms:
            return False
        return (other.offset_ms - self.offset_ms) % self.ms == 0


_LENGTH_MS: dict[Timeframe, int] = {
    Timeframe.M1: _MINUTE_MS,
    Timeframe.M3: 3 * _MINUTE_MS,
    Timeframe.M5: 5 * _MINUTE_MS,
    Timeframe.M15: 15 * _MINUTE_MS,
    Timeframe.M30: 30 * _MINUTE_MS,
    Timeframe.H1: 60 * _MINUTE_MS,
    Timeframe.H2: 120 * _MINUTE_MS,
    Timeframe.H4: 240 * _MINUTE_MS,
    Timeframe.H6: 360 * _MINUTE_MS,
    Timeframe.D1: _DAY_MS,
    Timeframe.D3: 3 * _DAY_MS,
    Timeframe.W1: _WEEK_MS,
}
