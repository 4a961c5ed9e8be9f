"""The agent's recent candles: a fixed-size window the built-in rules, the filters and the stops read.

The backtest computes each rule over the whole history at once; the agent recomputes it over the
last ``size`` candles at every close and takes the newest value. Both see only candles up to that
close, so within the first ``size`` candles of a session the values are identical; beyond, the
recursive indicators (TA-Lib's RSI and ATR smoothing, its running SMA sums) can differ from a
whole-history computation in the last bits of a float, far below anything a decision turns on.
"""

from __future__ import annotations

import math

import numpy as np

from trading_agent.backtest.event_runner import volatility_arrays
from trading_agent.domain import Candle
from trading_agent.features import Bars

__all__ = ["CandleWindow", "Volatility"]

Volatility = tuple[float | None, float | None, float]
"""ATR / close and its long average as of a close (None in the warm-up), and the ATR (0 in the warm-up)."""


class CandleWindow:
    """The last ``size`` candles as ``Bars``, oldest first."""

    def __init__(self, size: int = 5000) -> None:
        if size < 2:
            raise ValueError(f"the candle window needs at least 2 candles, got {size}")
        self.size = size
        self._rows = np.empty((0, 6))

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def last_ts(self) -> int | None:
        """Open time of the newest candle (None when empty)."""
        return int(self._rows[-1, 0]) if len(self._rows) else None

    def append(self, candle: Candle) -> None:
        """Add the next closed candle (its open time must be after the newest one's)."""
        last = self.last_ts
        if last is not None and candle.ts <= last:
            raise ValueError(f"candle at {candle.ts} is not after the window's newest at {last}")
        row = np.array([[candle.ts, candle.open, candle.high, candle.low, candle.close, candle.volume]])
        self._rows = np.concatenate((self._rows[-(self.size - 1) :], row))

    def bars(self) -> Bars:
        """The window's candles as ``Bars``."""
        rows = self._rows
        return Bars(rows[:, 0].astype(np.int64), *(np.ascontiguousarray(rows[:, k]) for k in range(1, 6)))

    def volatility(self, bars: Bars) -> Volatility:
        """The volatility inputs of the engine and the stops at the newest close of ``bars``."""
        relative, average, atr = (float(values[-1]) for values in volatility_arrays(bars))

        def known(value: float) -> float | None:
            return None if math.isnan(value) else value

        return known(relative), known(average), 0.0 if math.isnan(atr) else atr
