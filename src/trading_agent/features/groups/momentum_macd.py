"""MACD (TA-Lib): line, signal, histogram, their one-bar slopes, and line and histogram in % of the close."""

from __future__ import annotations

from math import isnan

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.momentum_core import TaMacd, check_macd_periods, lagged_change
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["Macd"]

_NAN8 = (NAN,) * 8


class Macd(FixedIndicator):
    """TA-Lib ``MACD(fast, slow, signal)`` (see ``TaMacd`` for its seeding) and features derived from it.

    Outputs, suffixed ``_<fast>_<slow>_<signal>``: ``macd`` (EMA(fast) - EMA(slow), price units),
    ``macd_signal`` (EMA(signal) of the line), ``macd_hist`` (line - signal); ``macd_slope``,
    ``macd_signal_slope``, ``macd_hist_slope`` (change since the previous bar, one bar more warm-up);
    ``macd_pct`` and ``macd_hist_pct`` (line and histogram in % of the close: scale-free).
    """

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        check_macd_periods(fast, slow, signal)
        suffix = f"{fast}_{slow}_{signal}"
        params = {"fast": fast, "slow": slow, "signal": signal}
        warmup = slow + signal - 2
        descriptions = {
            "macd": (warmup, "MACD line: EMA(fast) - EMA(slow) of the close"),
            "macd_signal": (warmup, "MACD signal: EMA of the line"),
            "macd_hist": (warmup, "MACD histogram: line - signal"),
            "macd_slope": (warmup + 1, "one-bar change of the MACD line"),
            "macd_signal_slope": (warmup + 1, "one-bar change of the MACD signal"),
            "macd_hist_slope": (warmup + 1, "one-bar change of the MACD histogram"),
            "macd_pct": (warmup, "MACD line in % of the close"),
            "macd_hist_pct": (warmup, "MACD histogram in % of the close"),
        }
        super().__init__(
            [
                FeatureSpec(f"{name}_{suffix}", FeatureGroup.MOMENTUM, bars, description, params)
                for name, (bars, description) in descriptions.items()
            ]
        )
        self._periods = (fast, slow, signal)

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        line, signal, hist = talib.MACD(bars.close, *self._periods)
        slopes = tuple(lagged_change(values, 1) for values in (line, signal, hist))
        return line, signal, hist, *slopes, line / bars.close * 100.0, hist / bars.close * 100.0

    def streamer(self) -> Streamer:
        return _MacdStreamer(*self._periods)


class _MacdStreamer(Streamer):
    __slots__ = ("_last", "_macd")

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        self._macd = TaMacd(fast, slow, signal)
        self._last = (NAN, NAN, NAN)

    def update(self, bar: Bar) -> tuple[float, ...]:
        line, signal, hist = self._macd.update(bar.close)
        if isnan(line):
            return _NAN8
        last_line, last_signal, last_hist = self._last
        self._last = (line, signal, hist)
        close = bar.close
        return (
            line,
            signal,
            hist,
            line - last_line,
            signal - last_signal,
            hist - last_hist,
            line / close * 100.0,
            hist / close * 100.0,
        )
