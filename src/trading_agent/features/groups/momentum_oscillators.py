"""Momentum oscillators: RSI, Stochastic RSI, Williams %R, ROC, momentum, Ultimate and Awesome oscillators.

Batch values come from TA-Lib; the streamers replicate TA-Lib's algorithms (seeding, operation order,
zero tests) so both paths agree bit for bit. Windows count bars: gaps in the data are not special-cased.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from math import isnan

import numpy as np
import talib
from talib._ta_lib import MA_Type

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.momentum_core import TaRsi, is_zero_scaled
from trading_agent.features.indicator import CloseStreamer, FixedIndicator, Streamer
from trading_agent.features.rolling import NAN, Lag, RollingExtreme, RollingMean, true_range
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = [
    "AwesomeOscillator",
    "Momentum",
    "RateOfChange",
    "Rsi",
    "StochasticRsi",
    "UltimateOscillator",
    "WilliamsR",
]

_GROUP = FeatureGroup.MOMENTUM


class Rsi(FixedIndicator):
    """``rsi_<n>``: TA-Lib RSI of the close (Wilder), 0..100; 0 on flat prices (TA-Lib's choice)."""

    def __init__(self, period: int = 14) -> None:
        super().__init__(
            [FeatureSpec(f"rsi_{period}", _GROUP, period, f"Wilder RSI({period}) of the close", {"period": period})]
        )
        self._period = period

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (talib.RSI(bars.close, timeperiod=self._period),)

    def streamer(self) -> Streamer:
        return CloseStreamer(TaRsi(self._period))


class StochasticRsi(FixedIndicator):
    """``stochrsi_k/d_<rsi>_<stoch>_<k>_<d>``: the "14,14,3,3" Stochastic RSI, 0..100.

    raw = 100 (RSI - min RSI) / (max RSI - min RSI) over ``stoch`` bars (0 when the range is zero within
    1e-14 of its size), %K = SMA(``k``) of raw, %D = SMA(``d``) of %K: TA-Lib ``STOCH`` applied to TA-Lib
    ``RSI`` (TA-Lib's own ``STOCHRSI`` has no %K smoothing). Like TA-Lib, %K first appears with %D.
    """

    def __init__(self, rsi_period: int = 14, stoch_period: int = 14, k_period: int = 3, d_period: int = 3) -> None:
        params = {"rsi_period": rsi_period, "stoch_period": stoch_period, "k_period": k_period, "d_period": d_period}
        suffix = f"{rsi_period}_{stoch_period}_{k_period}_{d_period}"
        warmup = rsi_period + stoch_period - 1 + k_period - 1 + d_period - 1
        super().__init__(
            [
                FeatureSpec(f"stochrsi_k_{suffix}", _GROUP, warmup, "Stochastic RSI %K (smoothed)", params),
                FeatureSpec(f"stochrsi_d_{suffix}", _GROUP, warmup, "Stochastic RSI %D (SMA of %K)", params),
            ]
        )
        self._periods = (rsi_period, stoch_period, k_period, d_period)

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        rsi_period, stoch_period, k_period, d_period = self._periods
        rsi = talib.RSI(bars.close, timeperiod=rsi_period)
        k, d = talib.STOCH(rsi, rsi, rsi, stoch_period, k_period, MA_Type.SMA, d_period, MA_Type.SMA)
        return k, d

    def streamer(self) -> Streamer:
        return _StochasticRsiStreamer(*self._periods)


class _StochasticRsiStreamer(Streamer):
    __slots__ = ("_d", "_highest", "_k", "_lowest", "_rsi")

    def __init__(self, rsi_period: int, stoch_period: int, k_period: int, d_period: int) -> None:
        self._rsi = TaRsi(rsi_period)
        self._highest = RollingExtreme(stoch_period, largest=True)
        self._lowest = RollingExtreme(stoch_period, largest=False)
        self._k = RollingMean(k_period)
        self._d = RollingMean(d_period)

    def update(self, bar: Bar) -> tuple[float, ...]:
        rsi = self._rsi.update(bar.close)
        if isnan(rsi):
            return NAN, NAN
        highest = self._highest.update(rsi)
        lowest = self._lowest.update(rsi)
        if isnan(highest):
            return NAN, NAN
        diff = highest - lowest
        raw = 0.0 if is_zero_scaled(diff, highest, lowest) else (rsi - lowest) / diff * 100.0
        k = self._k.update(raw)
        if isnan(k):
            return NAN, NAN
        d = self._d.update(k)
        return (NAN, NAN) if isnan(d) else (k, d)


class WilliamsR(FixedIndicator):
    """``willr_<n>``: TA-Lib Williams %R, -100 (close at the n-bar low) .. 0 (at the high); 0 on a zero range."""

    def __init__(self, period: int = 14) -> None:
        super().__init__(
            [FeatureSpec(f"willr_{period}", _GROUP, period - 1, f"Williams %R({period})", {"period": period})]
        )
        self._period = period

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (talib.WILLR(bars.high, bars.low, bars.close, timeperiod=self._period),)

    def streamer(self) -> Streamer:
        return _WilliamsRStreamer(self._period)


class _WilliamsRStreamer(Streamer):
    __slots__ = ("_highest", "_lowest")

    def __init__(self, period: int) -> None:
        self._highest = RollingExtreme(period, largest=True)
        self._lowest = RollingExtreme(period, largest=False)

    def update(self, bar: Bar) -> tuple[float, ...]:
        highest = self._highest.update(bar.high)
        lowest = self._lowest.update(bar.low)
        if isnan(highest):
            return (NAN,)
        diff = highest - lowest
        return (0.0 if is_zero_scaled(diff, highest, lowest) else (highest - bar.close) / diff * -100.0,)


def _rate_of_change(now: float, then: float) -> float:
    return (now / then - 1.0) * 100.0


def _difference(now: float, then: float) -> float:
    return now - then


class _LaggedClose(FixedIndicator):
    """A feature of the close now and ``period`` bars ago (the TA-Lib function ``talib_name`` in batch)."""

    def __init__(
        self, spec: FeatureSpec, period: int, talib_name: str, combine: Callable[[float, float], float]
    ) -> None:
        super().__init__([spec])
        self._period = period
        self._talib_name = talib_name
        self._combine = combine

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (getattr(talib, self._talib_name)(bars.close, timeperiod=self._period),)

    def streamer(self) -> Streamer:
        return _LaggedCloseStreamer(self._period, self._combine)


class _LaggedCloseStreamer(Streamer):
    __slots__ = ("_combine", "_lag")

    def __init__(self, period: int, combine: Callable[[float, float], float]) -> None:
        self._lag = Lag(period)
        self._combine = combine

    def update(self, bar: Bar) -> tuple[float, ...]:
        close = bar.close
        then = self._lag.update(close)
        return (NAN,) if isnan(then) else (self._combine(close, then),)


class RateOfChange(_LaggedClose):
    """``roc_<n>``: TA-Lib ROC, the % change of the close over ``n`` bars."""

    def __init__(self, period: int = 10) -> None:
        spec = FeatureSpec(
            f"roc_{period}", _GROUP, period, f"% change of the close over {period} bars", {"period": period}
        )
        super().__init__(spec, period, "ROC", _rate_of_change)


class Momentum(_LaggedClose):
    """``mom_<n>``: TA-Lib MOM, close - close ``n`` bars ago (price units)."""

    def __init__(self, period: int = 10) -> None:
        spec = FeatureSpec(
            f"mom_{period}", _GROUP, period, f"close minus the close {period} bars ago", {"period": period}
        )
        super().__init__(spec, period, "MOM", _difference)


class UltimateOscillator(FixedIndicator):
    """``ultosc_<a>_<b>_<c>``: TA-Lib Ultimate Oscillator, 0..100.

    100 * (4 A/B over the shortest period + 2 A/B over the middle + A/B over the longest) / 7, where A
    sums close - min(low, previous close) and B sums the true range; a ratio whose B is 0 counts as 0.
    """

    def __init__(self, short: int = 7, middle: int = 14, long: int = 28) -> None:
        if not 0 < short < middle < long:
            raise ValueError(f"need 0 < short < middle < long, got {short}, {middle}, {long}")
        params = {"short": short, "middle": middle, "long": long}
        super().__init__([FeatureSpec(f"ultosc_{short}_{middle}_{long}", _GROUP, long, "Ultimate Oscillator", params)])
        self._periods = (short, middle, long)

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (talib.ULTOSC(bars.high, bars.low, bars.close, *self._periods),)

    def streamer(self) -> Streamer:
        return _UltimateOscillatorStreamer(*self._periods)


class _UltimateOscillatorStreamer(Streamer):
    """TA-Lib primes the sum of each period fresh, ``long - period`` bars after the first bar with terms."""

    __slots__ = ("_bars", "_periods", "_prev_close", "_sums", "_terms")

    def __init__(self, short: int, middle: int, long: int) -> None:
        self._periods = (short, middle, long)
        self._sums = [0.0] * 6  # (A, B) for the short, middle and long period
        self._terms: deque[tuple[float, float]] = deque(maxlen=long)
        self._prev_close = NAN
        self._bars = 0

    def update(self, bar: Bar) -> tuple[float, ...]:
        prev = self._prev_close
        self._prev_close = bar.close
        self._bars += 1
        if self._bars == 1:
            return (NAN,)
        low = bar.low
        buying = bar.close - (low if low < prev else prev)
        tr = true_range(bar.high, low, prev)
        terms = self._terms
        terms.append((buying, tr))
        sums = self._sums
        seen = self._bars - 1  # bars with terms, this one included
        long = self._periods[2]
        for k, period in enumerate(self._periods):
            if seen > long - period:
                sums[2 * k] += buying
                sums[2 * k + 1] += tr
        if seen < long:
            return (NAN,)
        a1, b1, a2, b2, a3, b3 = sums
        output = 0.0
        if b1 != 0.0:
            output += 4.0 * (a1 / b1)
        if b2 != 0.0:
            output += 2.0 * (a2 / b2)
        if b3 != 0.0:
            output += a3 / b3
        for k, period in enumerate(self._periods):
            old_buying, old_range = terms[-period]
            sums[2 * k] -= old_buying
            sums[2 * k + 1] -= old_range
        return (100.0 * (output / 7.0),)


class AwesomeOscillator(FixedIndicator):
    """``ao_<f>_<s>``: SMA(f) - SMA(s) of the median price (high + low) / 2; ``ao_pct`` is it in % of the close."""

    def __init__(self, fast: int = 5, slow: int = 34) -> None:
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got {fast}, {slow}")
        params = {"fast": fast, "slow": slow}
        super().__init__(
            [
                FeatureSpec(f"ao_{fast}_{slow}", _GROUP, slow - 1, "Awesome Oscillator (price units)", params),
                FeatureSpec(f"ao_pct_{fast}_{slow}", _GROUP, slow - 1, "Awesome Oscillator in % of the close", params),
            ]
        )
        self._fast = fast
        self._slow = slow

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        median = talib.MEDPRICE(bars.high, bars.low)
        ao = talib.SMA(median, self._fast) - talib.SMA(median, self._slow)
        return ao, ao / bars.close * 100.0

    def streamer(self) -> Streamer:
        return _AwesomeOscillatorStreamer(self._fast, self._slow)


class _AwesomeOscillatorStreamer(Streamer):
    __slots__ = ("_fast", "_slow")

    def __init__(self, fast: int, slow: int) -> None:
        self._fast = RollingMean(fast)
        self._slow = RollingMean(slow)

    def update(self, bar: Bar) -> tuple[float, ...]:
        median = (bar.high + bar.low) / 2.0
        ao = self._fast.update(median) - self._slow.update(median)
        return ao, ao / bar.close * 100.0
