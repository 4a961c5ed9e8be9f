"""Candle arrays for ``TradingEngine.feed_arrays``, and the vectorised scan that skips the quiet candles.

A backtest feeds the engine hundreds of thousands of candles, and most of them do nothing: the fast
path (``book``) rules each out in a few float comparisons, but a Python call per candle still costs
about 0.3 µs, a good part of a long backtest. ``next_busy`` runs the same test with numpy over
growing stretches of the arrays and returns the next candle the fast path could not rule out (or
that the caller wants to see); the engine sets the marks the skipped candles would have left and
sends that candle down its ordinary per-candle path. Feeding candle by candle and feeding the
arrays write the same journal (a property test and a real-data test compare them).

Hand-written because the test is the engine's own fast-path rule. numpy rather than numba: a
numba loop was 0.08 s faster on the million-candle benchmark but cost half a second to load in
every process, more than a typical backtest saves.

Arrays are oldest first: ``ts`` int64 (open times in ms), prices and volume float64;
``volatility`` and ``average_volatility`` (optional, float64) are what ``feed`` takes per candle,
with NaN for "unknown" (``None`` there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trading_agent.engine.errors import EngineError

__all__ = ["UNKNOWN", "CandleArrays", "next_busy"]

UNKNOWN = -1
"""``CandleArrays.calm`` where the volatility or its average is not known."""

_Floats = npt.NDArray[np.float64]
_FIRST_STRETCH, _GROWTH = 32, 4  # candles scanned at once: short first (the next candle is often busy), then more


@dataclass(frozen=True, slots=True)
class CandleArrays:
    """One instrument's candles as equal-length arrays (see the module docstring); converted on creation."""

    ts: npt.NDArray[np.int64]
    open: _Floats
    high: _Floats
    low: _Floats
    close: _Floats
    volume: _Floats
    volatility: _Floats | None = None
    average_volatility: _Floats | None = None

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("ts", "open", "high", "low", "close", "volume", "volatility", "average_volatility"):
            values = getattr(self, name)
            if values is None:
                continue
            array = np.ascontiguousarray(values, dtype=np.int64 if name == "ts" else np.float64)
            if array.ndim != 1 or len(array) != n:
                raise EngineError(f"candle column {name!r} has shape {array.shape}; expected ({n},) like ts")
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return len(self.ts)

    def first_impossible(self) -> int | None:
        """The index of the first candle ``feed`` would refuse as impossible (NaN, high below low, ...), if any."""
        o, h, low, c, v = self.open, self.high, self.low, self.close, self.volume
        ok = (low > 0) & (low <= o) & (o <= h) & (h < np.inf) & (low <= c) & (c <= h) & (v >= 0) & (v < np.inf)
        bad = np.flatnonzero(~ok)
        return int(bad[0]) if len(bad) else None

    def first_not_after(self, last_ts: int | None) -> int | None:
        """The index of the first candle not after the one before it (or, for the first, after ``last_ts``)."""
        if len(self.ts) and last_ts is not None and self.ts[0] <= last_ts:
            return 0
        bad = np.flatnonzero(np.diff(self.ts) <= 0)
        return int(bad[0]) + 1 if len(bad) else None

    def calm(self, multiple: float) -> npt.NDArray[np.int8]:
        """Per candle: 1 where volatility is under ``multiple`` x its average, 0 where not, else ``UNKNOWN``."""
        if self.volatility is None or self.average_volatility is None:
            return np.full(len(self.ts), UNKNOWN, dtype=np.int8)
        with np.errstate(invalid="ignore"):
            calm = (self.volatility < multiple * self.average_volatility).astype(np.int8)
        calm[np.isnan(self.volatility) | np.isnan(self.average_volatility)] = UNKNOWN
        return calm

    def volatility_at(self, index: int) -> float | None:
        """The volatility ``feed`` gets for candle ``index`` (``None`` when unknown)."""
        return _known(self.volatility, index)

    def average_volatility_at(self, index: int) -> float | None:
        """The average volatility ``feed`` gets for candle ``index`` (``None`` when unknown)."""
        return _known(self.average_volatility, index)


def _known(values: _Floats | None, index: int) -> float | None:
    if values is None:
        return None
    value = float(values[index])
    return None if math.isnan(value) else value


def next_busy(  # noqa: PLR0917 (the fast path's thresholds, in the order of its test)
    start: int,
    ts: npt.NDArray[np.int64],
    low: _Floats,
    high: _Floats,
    close: _Floats,
    calm: npt.NDArray[np.int8],
    wanted: npt.NDArray[np.bool_],
    wake_ts: int,
    low_trigger: float,
    high_trigger: float,
    close_low: float,
    close_high: float,
    volatility_tripped: int,
) -> int:
    """The first index from ``start`` the fast path cannot rule out or that is ``wanted`` (``len(ts)`` if none).

    The exact complement of the fast path's test in ``TradingEngine.feed``; ``volatility_tripped``
    is 1 when the volatility breaker is tripped (a calm candle may then clear it), else 0.
    """
    n, size = len(ts), _FIRST_STRETCH
    while start < n:
        stop = min(n, start + size)
        part = slice(start, stop)
        closes = close[part]
        busy = wanted[part] | (ts[part] >= wake_ts)
        busy |= low[part] <= low_trigger
        busy |= high[part] >= high_trigger
        busy |= closes <= close_low
        busy |= closes >= close_high
        busy |= calm[part] == volatility_tripped
        first = int(busy.argmax())
        if busy[first]:
            return start + first
        start, size = stop, size * _GROWTH
    return n
