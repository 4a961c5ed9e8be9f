"""Volatility regime: today's normalised ATR against its own recent average.

``natr_rel_<n>_<w>`` = NATR(n) / SMA(w) of NATR(n), where NATR = 100 * ATR(n) / close (TA-Lib); 1.0 when
that average is 0 (no true range at all in the window). ``vol_regime_<n>_<w>`` buckets it:
0 (low) below ``low`` (0.8), 2 (high) above ``high`` (1.25), else 1 (normal); the thresholds are
symmetric in log space (1 / 1.25 = 0.8). The average is a mean, not a median, because a rolling
median costs ~0.3 s per million bars, a tenth of the whole feature set's batch budget.
"""

from __future__ import annotations

from math import isnan

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN, RollingMean, true_range
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["TaNatr", "VolatilityRegime", "regime", "regime_array"]


class TaNatr:
    """TA-Lib ``NATR``: Wilder ATR seeded with the mean of the first ``n`` true ranges, / close * 100.

    First value at bar ``n``. TA-Lib 0.8 compensates its Wilder
    step (``ATR``/``NATR`` accuracy at long periods), so this replica agrees to ~1e-15, not bitwise.
    """

    __slots__ = ("_atr", "_bars", "_n", "_prev_close")

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ValueError(f"ATR period must be >= 2, got {n}")
        self._n = n
        self._atr = 0.0
        self._bars = 0
        self._prev_close = NAN

    def update(self, high: float, low: float, close: float) -> float:
        """Add the next bar; NATR in %, NaN for the first ``n`` bars."""
        prev = self._prev_close
        self._prev_close = close
        bars = self._bars
        self._bars = bars + 1
        if not bars:
            return NAN
        tr = true_range(high, low, prev)
        n = self._n
        if bars < n:
            self._atr += tr
            return NAN
        if bars == n:
            atr = (self._atr + tr) / n
        else:
            atr = self._atr * (n - 1)
            atr += tr
            atr /= n
        self._atr = atr
        return atr / close * 100.0


def regime(relative: float, low: float, high: float) -> float:
    """0 below ``low``, 2 above ``high``, 1 between (NaN stays NaN)."""
    if isnan(relative):
        return NAN
    return 0.0 if relative < low else 2.0 if relative > high else 1.0


def regime_array(relative: np.ndarray, low: float, high: float) -> np.ndarray:
    """``regime`` element-wise."""
    out = np.where(np.isnan(relative), np.nan, 1.0)
    out[relative < low] = 0.0
    out[relative > high] = 2.0
    return out


class VolatilityRegime(FixedIndicator):
    """``natr_rel_<n>_<w>`` and ``vol_regime_<n>_<w>`` (see the module docstring)."""

    def __init__(self, atr_period: int = 14, window: int = 100, low: float = 0.8, high: float = 1.25) -> None:
        if not 0.0 < low < 1.0 < high:
            raise ValueError(f"need 0 < low < 1 < high, got {low}, {high}")
        params = {"atr_period": atr_period, "window": window, "low": low, "high": high}
        suffix = f"{atr_period}_{window}"
        warmup = atr_period + window - 1
        super().__init__(
            [
                FeatureSpec(f"natr_rel_{suffix}", FeatureGroup.DERIVED, warmup, "NATR / its rolling mean", params),
                FeatureSpec(
                    f"vol_regime_{suffix}",
                    FeatureGroup.DERIVED,
                    warmup,
                    "volatility regime 0 low, 1 normal, 2 high",
                    params,
                ),
            ]
        )
        self._atr_period = atr_period
        self._window = window
        self._low = low
        self._high = high

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        natr = talib.NATR(bars.high, bars.low, bars.close, timeperiod=self._atr_period)
        mean = talib.SMA(natr, self._window)
        relative = np.where(np.isnan(mean), np.nan, 1.0)
        np.divide(natr, mean, out=relative, where=mean != 0.0)
        return relative, regime_array(relative, self._low, self._high)

    def streamer(self) -> Streamer:
        return _VolatilityRegimeStreamer(self._atr_period, self._window, self._low, self._high)


class _VolatilityRegimeStreamer(Streamer):
    __slots__ = ("_high", "_low", "_mean", "_natr")

    def __init__(self, atr_period: int, window: int, low: float, high: float) -> None:
        self._natr = TaNatr(atr_period)
        self._mean = RollingMean(window)
        self._low = low
        self._high = high

    def update(self, bar: Bar) -> tuple[float, ...]:
        natr = self._natr.update(bar.high, bar.low, bar.close)
        if isnan(natr):
            return NAN, NAN
        mean = self._mean.update(natr)
        if isnan(mean):
            return NAN, NAN
        relative = natr / mean if mean != 0.0 else 1.0
        return relative, regime(relative, self._low, self._high)
