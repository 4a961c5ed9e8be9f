"""Trend strength: Wilder's ADX with +DI and -DI (TA-Lib), and a signed score in -1..1.

``trend_score_<n>`` = sign(+DI - -DI) * ADX / 100: its size is how strong the trend is (ADX), its sign
which way (up when +DI leads); 0 when the DIs are equal.
"""

from __future__ import annotations

from math import isnan

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.momentum_core import NAN3
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN, true_range
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["TaDirectionalMovement", "TrendStrength"]


class TaDirectionalMovement:
    """TA-Lib ``PLUS_DI``, ``MINUS_DI`` and ``ADX`` in one O(1) state, bit-exact.

    TA-Lib sums the first ``n - 1`` directional movements and true ranges, then smooths each bar as
    ``s - s / n + today`` (so the first DIs, on bar ``n``, rest on ``n - 1`` raw values); DX = 100
    |+DI - -DI| / (+DI + -DI); ADX is the mean of the first ``n`` DX (bars ``n .. 2n - 1``), then Wilder's
    ``(adx (n - 1) + dx) / n``. DIs are 0 while the smoothed true range is 0; a DX that cannot be
    computed (+DI + -DI = 0) is skipped, as TA-Lib does.
    """

    __slots__ = ("_adx", "_bars", "_minus_dm", "_n", "_plus_dm", "_prev_close", "_prev_high", "_prev_low", "_range")

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ValueError(f"ADX period must be >= 2, got {n}")
        self._n = n
        self._bars = 0
        self._plus_dm = 0.0
        self._minus_dm = 0.0
        self._range = 0.0
        self._adx = 0.0
        self._prev_high = self._prev_low = self._prev_close = NAN

    def update(self, high: float, low: float, close: float) -> tuple[float, float, float]:
        """Add the next bar; (+DI, -DI, ADX), NaN before bars ``n`` (DIs) and ``2n - 1`` (ADX)."""
        bars = self._bars
        self._bars = bars + 1
        up = high - self._prev_high
        down = self._prev_low - low
        prev_close = self._prev_close
        self._prev_high = high
        self._prev_low = low
        self._prev_close = close
        if not bars:
            return NAN3
        tr = true_range(high, low, prev_close)
        n = self._n
        plus_dm = self._plus_dm
        minus_dm = self._minus_dm
        smoothed_range = self._range
        if bars >= n:
            minus_dm -= minus_dm / n
            plus_dm -= plus_dm / n
            smoothed_range = smoothed_range - smoothed_range / n + tr
        else:
            smoothed_range += tr
        if down > 0 and up < down:
            minus_dm += down
        elif up > 0 and up > down:
            plus_dm += up
        self._plus_dm = plus_dm
        self._minus_dm = minus_dm
        self._range = smoothed_range
        if bars < n:
            return NAN3
        dx = NAN
        if smoothed_range != 0.0:
            minus_di = 100.0 * (minus_dm / smoothed_range)
            plus_di = 100.0 * (plus_dm / smoothed_range)
            total = minus_di + plus_di
            if total != 0.0:
                dx = 100.0 * (abs(minus_di - plus_di) / total)
        else:
            minus_di = plus_di = 0.0
        last_seed = 2 * n - 1
        if bars <= last_seed:
            if not isnan(dx):
                self._adx += dx
            if bars < last_seed:
                return plus_di, minus_di, NAN
            self._adx /= n
        elif not isnan(dx):
            self._adx = (self._adx * (n - 1) + dx) / n
        return plus_di, minus_di, self._adx


class TrendStrength(FixedIndicator):
    """``adx_<n>``, ``plus_di_<n>``, ``minus_di_<n>`` (TA-Lib, 0..100) and ``trend_score_<n>`` (-1..1)."""

    def __init__(self, period: int = 14) -> None:
        params = {"period": period}
        adx_warmup = 2 * period - 1
        group = FeatureGroup.DERIVED
        super().__init__(
            [
                FeatureSpec(f"adx_{period}", group, adx_warmup, f"Wilder ADX({period}): trend strength", params),
                FeatureSpec(f"plus_di_{period}", group, period, f"+DI({period}): upward directional index", params),
                FeatureSpec(f"minus_di_{period}", group, period, f"-DI({period}): downward directional index", params),
                FeatureSpec(f"trend_score_{period}", group, adx_warmup, "sign(+DI - -DI) * ADX / 100", params),
            ]
        )
        self._period = period

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        args = (bars.high, bars.low, bars.close)
        adx = talib.ADX(*args, timeperiod=self._period)
        plus_di = talib.PLUS_DI(*args, timeperiod=self._period)
        minus_di = talib.MINUS_DI(*args, timeperiod=self._period)
        return adx, plus_di, minus_di, np.sign(plus_di - minus_di) * adx / 100.0

    def streamer(self) -> Streamer:
        return _TrendStrengthStreamer(self._period)


class _TrendStrengthStreamer(Streamer):
    __slots__ = ("_state",)

    def __init__(self, period: int) -> None:
        self._state = TaDirectionalMovement(period)

    def update(self, bar: Bar) -> tuple[float, ...]:
        plus_di, minus_di, adx = self._state.update(bar.high, bar.low, bar.close)
        direction = 1.0 if plus_di > minus_di else -1.0 if plus_di < minus_di else 0.0
        return adx, plus_di, minus_di, direction * adx / 100.0
