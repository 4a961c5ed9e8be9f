"""Range-based volatility: ATR/NATR, and the Keltner and Donchian channels.

ATR is TA-Lib's: the true range (from the second bar, as it needs the previous close) averaged with
Wilder's smoothing, seeded with the mean of the first ``n`` true ranges, so the first value is at
bar ``n``. The streaming ``WilderAtr`` repeats TA-Lib's algorithm; TA-Lib's compiled smoothing step
is a fused multiply-add, which Python 3.11 cannot express, so the paths agree to ~1e-15, not bit for bit.

A channel position is ``(close - lower) / (upper - lower)``: 0 at the lower line, 1 at the upper,
0.5 when the channel has zero width (e.g. constant prices).
"""

from __future__ import annotations

import math

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN, Ema, RollingExtreme, true_range
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["Atr", "Donchian", "Keltner", "WilderAtr", "channel_position", "channel_positions"]


def channel_position(close: float, lower: float, upper: float) -> float:
    """Where the close sits in the channel: 0 at ``lower``, 1 at ``upper``, 0.5 for a zero-width channel."""
    width = upper - lower
    return 0.5 if width == 0.0 else (close - lower) / width


def channel_positions(close: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``channel_position`` over arrays (NaN where a line is NaN)."""
    width = upper - lower
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(width == 0.0, 0.5, (close - lower) / width)


def _spec(name: str, warmup: int, description: str, **params: int | float) -> FeatureSpec:
    return FeatureSpec(name, FeatureGroup.VOLATILITY, warmup, description, params)


class WilderAtr:
    """TA-Lib ``ATR`` over a stream of bars: NaN until bar ``n`` (0-based), then Wilder's average true range."""

    __slots__ = ("_alpha", "_beta", "_count", "_n", "_prev_close", "_total", "_value")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"period must be >= 1, got {n}")
        self._n = n
        self._beta = (n - 1) / n  # TA-Lib derives alpha from beta so that alpha + beta == 1 exactly
        self._alpha = 1.0 - self._beta
        self._prev_close = NAN
        self._count = 0
        self._total = 0.0
        self._value = NAN

    def update(self, high: float, low: float, close: float) -> float:
        """Add a bar; the ATR, NaN while warming up."""
        prev = self._prev_close
        self._prev_close = close
        if math.isnan(prev):  # the first bar has no true range
            return NAN
        tr = true_range(high, low, prev)
        if self._count >= self._n:
            self._value = self._alpha * tr + self._beta * self._value
            return self._value
        self._count += 1
        self._total += tr
        if self._count < self._n:
            return NAN
        self._value = self._total / self._n
        return self._value


class Atr(FixedIndicator):
    """Average true range over ``n`` bars (price units) and, with ``normalised``, NATR = 100 * ATR / close.

    NATR is 0 where the close is 0 (TA-Lib's convention).
    """

    def __init__(self, n: int, *, normalised: bool = False) -> None:
        specs = [_spec(f"atr_{n}", n, f"Average true range, {n} bars, Wilder-smoothed (price)", period=n)]
        if normalised:
            specs.append(_spec(f"natr_{n}", n, f"Normalised ATR: 100 * atr_{n} / close (% of price)", period=n))
        super().__init__(specs)
        self._n = n
        self._normalised = normalised

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        atr = talib.ATR(bars.high, bars.low, bars.close, timeperiod=self._n)
        if not self._normalised:
            return (atr,)
        return atr, talib.NATR(bars.high, bars.low, bars.close, timeperiod=self._n)

    def streamer(self) -> Streamer:
        return _AtrStreamer(self._n, self._normalised)


class _AtrStreamer(Streamer):
    __slots__ = ("_atr", "_normalised")

    def __init__(self, n: int, normalised: bool) -> None:
        self._atr = WilderAtr(n)
        self._normalised = normalised

    def update(self, bar: Bar) -> tuple[float, ...]:
        atr = self._atr.update(bar.high, bar.low, bar.close)
        if not self._normalised:
            return (atr,)
        if math.isnan(atr):
            return atr, NAN
        return atr, 0.0 if bar.close == 0.0 else atr / bar.close * 100.0


class Keltner(FixedIndicator):
    """Keltner channel: EMA of the close (``n`` bars) +/- ``multiplier`` x ATR (``atr_n`` bars), close's position."""

    def __init__(self, n: int = 20, atr_n: int = 10, multiplier: float = 2.0) -> None:
        suffix = f"{n}_{atr_n}_{multiplier:g}"
        warmup = max(n - 1, atr_n)
        params = {"period": n, "atr_period": atr_n, "multiplier": multiplier}
        band = f"EMA {n} {{}} {multiplier:g} x ATR {atr_n}"
        super().__init__(
            (
                _spec(f"kc_upper_{suffix}", warmup, f"Keltner upper line: {band.format('+')} (price)", **params),
                _spec(f"kc_lower_{suffix}", warmup, f"Keltner lower line: {band.format('-')} (price)", **params),
                _spec(
                    f"kc_pos_{suffix}", warmup, "Close's position in the Keltner channel (0 lower, 1 upper)", **params
                ),
            )
        )
        self._n = n
        self._atr_n = atr_n
        self._multiplier = multiplier

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        middle = talib.EMA(bars.close, timeperiod=self._n)
        offset = self._multiplier * talib.ATR(bars.high, bars.low, bars.close, timeperiod=self._atr_n)
        upper = middle + offset
        lower = middle - offset
        return upper, lower, channel_positions(bars.close, lower, upper)

    def streamer(self) -> Streamer:
        return _KeltnerStreamer(self._n, self._atr_n, self._multiplier)


class _KeltnerStreamer(Streamer):
    __slots__ = ("_atr", "_ema", "_multiplier")

    def __init__(self, n: int, atr_n: int, multiplier: float) -> None:
        self._ema = Ema(n)
        self._atr = WilderAtr(atr_n)
        self._multiplier = multiplier

    def update(self, bar: Bar) -> tuple[float, ...]:
        middle = self._ema.update(bar.close)
        offset = self._multiplier * self._atr.update(bar.high, bar.low, bar.close)
        upper = middle + offset
        lower = middle - offset
        return upper, lower, channel_position(bar.close, lower, upper)


class Donchian(FixedIndicator):
    """Donchian channel: highest high, lowest low of the last ``n`` bars (current one included), midline, position."""

    def __init__(self, n: int = 20) -> None:
        warmup = n - 1
        super().__init__(
            (
                _spec(f"dc_upper_{n}", warmup, f"Highest high of the last {n} bars (price)", period=n),
                _spec(f"dc_lower_{n}", warmup, f"Lowest low of the last {n} bars (price)", period=n),
                _spec(
                    f"dc_middle_{n}", warmup, f"Donchian midline: (dc_upper_{n} + dc_lower_{n}) / 2 (price)", period=n
                ),
                _spec(f"dc_pos_{n}", warmup, "Close's position in the Donchian channel (0 lower, 1 upper)", period=n),
            )
        )
        self._n = n

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        upper = talib.MAX(bars.high, timeperiod=self._n)
        lower = talib.MIN(bars.low, timeperiod=self._n)
        return upper, lower, (upper + lower) / 2.0, channel_positions(bars.close, lower, upper)

    def streamer(self) -> Streamer:
        return _DonchianStreamer(self._n)


class _DonchianStreamer(Streamer):
    __slots__ = ("_highest", "_lowest")

    def __init__(self, n: int) -> None:
        self._highest = RollingExtreme(n, largest=True)
        self._lowest = RollingExtreme(n, largest=False)

    def update(self, bar: Bar) -> tuple[float, ...]:
        upper = self._highest.update(bar.high)
        lower = self._lowest.update(bar.low)
        return upper, lower, (upper + lower) / 2.0, channel_position(bar.close, lower, upper)
