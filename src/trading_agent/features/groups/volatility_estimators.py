"""Volatility estimators from returns and ranges: close-to-close, Parkinson and Garman-Klass.

All are per bar (the standard deviation of one bar's log return), not annualised, so they do not
depend on the timeframe's length; to annualise multiply by sqrt(bars per year), e.g. sqrt(365 * 24)
for 1h crypto bars that trade 24/7. TA-Lib has none of them: the batch path is numpy. Window sums are
recomputed from the window's values each bar, left to right, in both paths (no running-sum drift),
so the paths agree to the last bits of the logarithms. Prices must be positive.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

import numpy as np

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["GarmanKlass", "HistoricalVolatility", "Parkinson", "WindowSum", "window_sums"]

_LN2 = math.log(2.0)
_GK_CLOSE = 2.0 * _LN2 - 1.0


def window_sums(values: np.ndarray, n: int) -> np.ndarray:
    """The sum of each ``n`` consecutive values, added left to right; NaN for the first ``n - 1``."""
    out = np.full(len(values), np.nan)
    count = len(values) - n + 1
    if count > 0:
        total = values[:count].copy()
        for k in range(1, n):
            total += values[k : k + count]
        out[n - 1 :] = total
    return out


class WindowSum:
    """Streaming ``window_sums``: the sum of the last ``n`` values, re-added each step (bounded O(n)).

    Bit-identical to ``window_sums`` on Python 3.11; from 3.12 ``sum`` compensates float rounding,
    and the two then agree to rounding only.
    """

    __slots__ = ("_n", "_window")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"window must be >= 1, got {n}")
        self._n = n
        self._window: deque[float] = deque(maxlen=n)

    def update(self, x: float) -> float:
        """Add ``x``; the sum of the last ``n`` values, NaN before ``n`` were seen."""
        window = self._window
        window.append(x)
        return sum(window) if len(window) == self._n else NAN


def _spec(name: str, warmup: int, description: str, n: int) -> FeatureSpec:
    return FeatureSpec(name, FeatureGroup.VOLATILITY, warmup, description, {"period": n})


class HistoricalVolatility(FixedIndicator):
    """Close-to-close volatility: the sample standard deviation (n - 1) of the last ``n`` log returns, per bar.

    From the sums S1, S2 of the returns and their squares: ``sqrt(max(0, (S2 - S1^2 / n) / (n - 1)))``
    (exactly 0 for constant prices). The first return needs a previous close, so warm-up is ``n``.
    """

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ValueError(f"a sample standard deviation needs n >= 2, got {n}")
        super().__init__(
            (_spec(f"hv_{n}", n, f"Std of the last {n} log returns of the close, per bar (not annualised)", n),)
        )
        self._n = n

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        returns = np.full(len(bars), np.nan)
        returns[1:] = np.log(bars.close[1:] / bars.close[:-1])
        n = self._n
        total = window_sums(returns, n)
        variance = (window_sums(returns * returns, n) - total * total / n) / (n - 1)
        return (np.sqrt(np.maximum(variance, 0.0)),)

    def streamer(self) -> Streamer:
        return _HistoricalStreamer(self._n)


class _HistoricalStreamer(Streamer):
    __slots__ = ("_n", "_prev_close", "_sum", "_sum_sq")

    def __init__(self, n: int) -> None:
        self._n = n
        self._prev_close = NAN
        self._sum = WindowSum(n)
        self._sum_sq = WindowSum(n)

    def update(self, bar: Bar) -> tuple[float, ...]:
        prev = self._prev_close
        self._prev_close = bar.close
        r = NAN if math.isnan(prev) else math.log(bar.close / prev)
        total = self._sum.update(r)
        n = self._n
        variance = (self._sum_sq.update(r * r) - total * total / n) / (n - 1)
        return (math.sqrt(max(variance, 0.0)),)  # max keeps a NaN (its comparison is False)


class _RangeVolatility(FixedIndicator, ABC):
    """``sqrt(max(0, scale * sum of a per-bar term over n bars))``: the shape of range-based estimators.

    Subclasses give the term twice, over arrays (``terms``) and for one bar (``term``), same formula.
    """

    def __init__(self, spec: FeatureSpec, n: int, scale: float) -> None:
        super().__init__((spec,))
        self._n = n
        self._scale = scale

    @staticmethod
    @abstractmethod
    def terms(bars: Bars) -> np.ndarray:
        """The per-bar term of every bar."""

    @staticmethod
    @abstractmethod
    def term(bar: Bar) -> float:
        """The per-bar term of one bar."""

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (np.sqrt(np.maximum(window_sums(self.terms(bars), self._n) * self._scale, 0.0)),)

    def streamer(self) -> Streamer:
        return _RangeStreamer(self.term, self._n, self._scale)


class _RangeStreamer(Streamer):
    __slots__ = ("_scale", "_sum", "_term")

    def __init__(self, term: Callable[[Bar], float], n: int, scale: float) -> None:
        self._term = term  # a plain function (a static method), so the streamer pickles
        self._sum = WindowSum(n)
        self._scale = scale

    def update(self, bar: Bar) -> tuple[float, ...]:
        return (math.sqrt(max(self._sum.update(self._term(bar)) * self._scale, 0.0)),)


class Parkinson(_RangeVolatility):
    """Parkinson (1980) volatility from the high-low range: ``sqrt(mean(ln(H/L)^2) / (4 ln 2))`` over ``n`` bars."""

    def __init__(self, n: int = 20) -> None:
        spec = _spec(f"parkinson_vol_{n}", n - 1, f"Parkinson high-low volatility, {n} bars, per bar", n)
        super().__init__(spec, n, 1.0 / (4.0 * _LN2 * n))

    @staticmethod
    def terms(bars: Bars) -> np.ndarray:
        log_range = np.log(bars.high / bars.low)
        squared: np.ndarray = log_range * log_range
        return squared

    @staticmethod
    def term(bar: Bar) -> float:
        log_range = math.log(bar.high / bar.low)
        return log_range * log_range


class GarmanKlass(_RangeVolatility):
    """Garman-Klass (1980) volatility: ``sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2))`` over ``n`` bars.

    Each term is >= 0 for a consistent candle (|ln(C/O)| <= ln(H/L)); a negative mean from
    inconsistent data gives 0.
    """

    def __init__(self, n: int = 20) -> None:
        spec = _spec(f"gk_vol_{n}", n - 1, f"Garman-Klass OHLC volatility, {n} bars, per bar", n)
        super().__init__(spec, n, 1.0 / n)

    @staticmethod
    def terms(bars: Bars) -> np.ndarray:
        log_range = np.log(bars.high / bars.low)
        log_body = np.log(bars.close / bars.open)
        terms: np.ndarray = 0.5 * (log_range * log_range) - _GK_CLOSE * (log_body * log_body)
        return terms

    @staticmethod
    def term(bar: Bar) -> float:
        log_range = math.log(bar.high / bar.low)
        log_body = math.log(bar.close / bar.open)
        return 0.5 * (log_range * log_range) - _GK_CLOSE * (log_body * log_body)
