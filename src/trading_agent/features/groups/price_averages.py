"""Moving averages of the close: SMA and EMA at 10-200 bars, DEMA, TEMA and ZLEMA at 20.

They are price levels (in quote currency), the classic columns the blueprint names; the scale-free
price/MA ratios a model prefers are the derived group's ("Price/MA ratios"). SMA, EMA, DEMA and TEMA
are TA-Lib's (EMA seeded with the SMA of its first ``n`` values); their streaming filters follow
TA-Lib's operation order and match it bit for bit. ZLEMA is not in TA-Lib: see ``zlema``.
"""

from __future__ import annotations

import math
from collections import deque
from functools import partial

import numpy as np
import talib

from trading_agent.features.groups.price_base import CloseFilter
from trading_agent.features.indicator import Indicator
from trading_agent.features.rolling import NAN, Ema, RollingMean
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = [
    "MA_PERIODS",
    "SMOOTHED_PERIOD",
    "Dema",
    "Tema",
    "Zlema",
    "moving_averages",
    "zlema",
    "zlema_lag",
]

MA_PERIODS = (10, 20, 50, 100, 200)
SMOOTHED_PERIOD = 20  # DEMA, TEMA and ZLEMA


class Dema:
    """Double EMA ``2 * e1 - e2`` (e2 = EMA of e1), as TA-Lib ``DEMA``; first value after ``2(n-1)`` bars."""

    __slots__ = ("_ema1", "_ema2")

    def __init__(self, n: int) -> None:
        self._ema1 = Ema(n)
        self._ema2 = Ema(n)

    def update(self, x: float) -> float:
        """Add ``x``; the DEMA, NaN while warming up."""
        e1 = self._ema1.update(x)
        if math.isnan(e1):  # the second EMA starts on the first value of the first
            return NAN
        return 2.0 * e1 - self._ema2.update(e1)


class Tema:
    """Triple EMA ``e3 + (3 * e1 - 3 * e2)``, as TA-Lib ``TEMA``; first value after ``3(n-1)`` bars."""

    __slots__ = ("_ema1", "_ema2", "_ema3")

    def __init__(self, n: int) -> None:
        self._ema1 = Ema(n)
        self._ema2 = Ema(n)
        self._ema3 = Ema(n)

    def update(self, x: float) -> float:
        """Add ``x``; the TEMA, NaN while warming up."""
        e1 = self._ema1.update(x)
        if math.isnan(e1):
            return NAN
        e2 = self._ema2.update(e1)
        if math.isnan(e2):
            return NAN
        return self._ema3.update(e2) + (3.0 * e1 - 3.0 * e2)


def zlema_lag(n: int) -> int:
    """The lag ZLEMA removes: ``(n - 1) // 2`` bars."""
    return (n - 1) // 2


def zlema(close: np.ndarray, n: int) -> np.ndarray:
    """Zero-lag EMA (Ehlers): the ``n``-bar EMA (TA-Lib's, SMA-seeded) of ``2 * close[t] - close[t - lag]``.

    ``lag = (n - 1) // 2``; the first value is at bar ``lag + n - 1``.
    """
    lag = zlema_lag(n)
    adjusted = np.full(len(close), np.nan)
    adjusted[lag:] = 2.0 * close[lag:] - close[: len(close) - lag]
    if np.isnan(adjusted).all():  # too short: TA-Lib refuses an all-NaN input
        return adjusted
    return np.asarray(talib.EMA(adjusted, timeperiod=n), dtype=np.float64)


class Zlema:
    """Streaming ``zlema``: the last ``lag + 1`` closes and an EMA."""

    __slots__ = ("_ema", "_lag", "_window")

    def __init__(self, n: int) -> None:
        self._lag = zlema_lag(n)
        self._window: deque[float] = deque(maxlen=self._lag + 1)
        self._ema = Ema(n)

    def update(self, x: float) -> float:
        """Add ``x``; the ZLEMA, NaN while warming up."""
        window = self._window
        window.append(x)
        if len(window) <= self._lag:
            return NAN
        return self._ema.update(2.0 * x - window[0])


def _spec(name: str, n: int, warmup: int, description: str) -> FeatureSpec:
    return FeatureSpec(name, FeatureGroup.PRICE, warmup, description, {"period": n})


def moving_averages() -> list[Indicator]:
    """SMA and EMA at each of ``MA_PERIODS``, then DEMA, TEMA and ZLEMA at ``SMOOTHED_PERIOD``."""
    indicators: list[Indicator] = []
    for n in MA_PERIODS:
        indicators.append(
            CloseFilter(
                _spec(f"sma_{n}", n, n - 1, f"Simple moving average of the close over {n} bars (price)"),
                partial(talib.SMA, timeperiod=n),
                partial(RollingMean, n),
            )
        )
        indicators.append(
            CloseFilter(
                _spec(f"ema_{n}", n, n - 1, f"Exponential moving average of the close, {n} bars, SMA-seeded (price)"),
                partial(talib.EMA, timeperiod=n),
                partial(Ema, n),
            )
        )
    n = SMOOTHED_PERIOD
    return [
        *indicators,
        CloseFilter(
            _spec(f"dema_{n}", n, 2 * (n - 1), f"Double EMA of the close, {n} bars: 2*EMA - EMA(EMA) (price)"),
            partial(talib.DEMA, timeperiod=n),
            partial(Dema, n),
        ),
        CloseFilter(
            _spec(f"tema_{n}", n, 3 * (n - 1), f"Triple EMA of the close, {n} bars: 3*EMA - 3*EMA2 + EMA3 (price)"),
            partial(talib.TEMA, timeperiod=n),
            partial(Tema, n),
        ),
        CloseFilter(
            _spec(
                f"zlema_{n}",
                n,
                zlema_lag(n) + n - 1,
                f"Zero-lag EMA, {n} bars: EMA of 2*close - close {zlema_lag(n)} bars earlier (price)",
            ),
            partial(zlema, n=n),
            partial(Zlema, n),
        ),
    ]
