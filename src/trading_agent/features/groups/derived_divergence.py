"""Momentum divergences: price and an oscillator moving in opposite directions over a lookback.

With dp = close[t] - close[t - L] and do = osc[t] - osc[t - L] (L = ``lookback`` bars):
+1 (bullish) when dp < 0 and do > 0 (price fell, momentum rose); -1 (bearish) when dp > 0 and do < 0;
0 otherwise, including when either change is exactly 0. NaN until ``osc[t - L]`` exists. The oscillator
is computed here (TA-Lib in batch, its replica when streaming): features do not depend on each other.
"""

from __future__ import annotations

from abc import abstractmethod
from math import isnan

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.momentum_core import TaMacd, TaRsi, check_macd_periods, lagged_change
from trading_agent.features.indicator import FixedIndicator, ScalarFilter, Streamer
from trading_agent.features.rolling import NAN, Lag
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["MacdDivergence", "RsiDivergence"]


def divergence(price_change: float, oscillator_change: float) -> float:
    """+1 bullish, -1 bearish, 0 none (see the module docstring); NaN if the oscillator change is NaN."""
    if isnan(oscillator_change):
        return NAN
    if price_change < 0.0 < oscillator_change:
        return 1.0
    if price_change > 0.0 > oscillator_change:
        return -1.0
    return 0.0


def divergence_array(price_change: np.ndarray, oscillator_change: np.ndarray) -> np.ndarray:
    """``divergence`` element-wise."""
    out = np.where(np.isnan(oscillator_change), np.nan, 0.0)
    out[(price_change < 0.0) & (oscillator_change > 0.0)] = 1.0
    out[(price_change > 0.0) & (oscillator_change < 0.0)] = -1.0
    return out


class _Divergence(FixedIndicator):
    """A divergence of the close and one oscillator of the close."""

    def __init__(
        self, name: str, oscillator_warmup: int, lookback: int, description: str, params: dict[str, int]
    ) -> None:
        if lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {lookback}")
        super().__init__([FeatureSpec(name, FeatureGroup.DERIVED, oscillator_warmup + lookback, description, params)])
        self._lookback = lookback

    @abstractmethod
    def _oscillator(self, close: np.ndarray) -> np.ndarray:
        """The oscillator over a whole close column (TA-Lib)."""

    @abstractmethod
    def _oscillator_state(self) -> ScalarFilter:
        """A streaming replica of ``_oscillator``."""

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        close = bars.close
        price_change = lagged_change(close, self._lookback)
        return (divergence_array(price_change, lagged_change(self._oscillator(close), self._lookback)),)

    def streamer(self) -> Streamer:
        return _DivergenceStreamer(self._oscillator_state(), self._lookback)


class _DivergenceStreamer(Streamer):
    __slots__ = ("_close_lag", "_oscillator", "_oscillator_lag")

    def __init__(self, oscillator: ScalarFilter, lookback: int) -> None:
        self._oscillator = oscillator
        self._close_lag = Lag(lookback)
        self._oscillator_lag = Lag(lookback)

    def update(self, bar: Bar) -> tuple[float, ...]:
        close = bar.close
        oscillator = self._oscillator.update(close)
        past_close = self._close_lag.update(close)
        past_oscillator = self._oscillator_lag.update(oscillator)
        return (divergence(close - past_close, oscillator - past_oscillator),)


class RsiDivergence(_Divergence):
    """``rsi_divergence_<n>_<L>``: divergence of the close and TA-Lib RSI(n) over ``L`` bars."""

    def __init__(self, period: int = 14, lookback: int = 14) -> None:
        super().__init__(
            f"rsi_divergence_{period}_{lookback}",
            period,
            lookback,
            f"+1 bullish / -1 bearish divergence of close and RSI({period}) over {lookback} bars",
            {"period": period, "lookback": lookback},
        )
        self._period = period

    def _oscillator(self, close: np.ndarray) -> np.ndarray:
        return talib.RSI(close, timeperiod=self._period)

    def _oscillator_state(self) -> ScalarFilter:
        return TaRsi(self._period)


class _MacdHistogram:
    """The histogram of ``TaMacd`` as a one-value state."""

    __slots__ = ("_macd",)

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        self._macd = TaMacd(fast, slow, signal)

    def update(self, x: float) -> float:
        return self._macd.update(x)[2]


class MacdDivergence(_Divergence):
    """``macd_divergence_<f>_<s>_<g>_<L>``: divergence of the close and the TA-Lib MACD histogram over ``L`` bars."""

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9, lookback: int = 14) -> None:
        check_macd_periods(fast, slow, signal)
        super().__init__(
            f"macd_divergence_{fast}_{slow}_{signal}_{lookback}",
            slow + signal - 2,
            lookback,
            f"+1 bullish / -1 bearish divergence of close and MACD histogram over {lookback} bars",
            {"fast": fast, "slow": slow, "signal": signal, "lookback": lookback},
        )
        self._periods = (fast, slow, signal)

    def _oscillator(self, close: np.ndarray) -> np.ndarray:
        return talib.MACD(close, *self._periods)[2]

    def _oscillator_state(self) -> ScalarFilter:
        return _MacdHistogram(*self._periods)
