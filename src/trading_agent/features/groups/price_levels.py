"""Support and resistance levels: daily pivot points and Bill Williams fractals.

Levels are reported as the close's distance to them in % of the close (``pct_distances``): scale-free,
+ when the close is above the level. Fractal levels are also given as prices.
"""

from __future__ import annotations

import math

import numpy as np

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.price_base import Values, pct_distances
from trading_agent.features.groups.price_session import DAY_MS, DayLayout
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["PIVOT_LEVELS", "Fractals", "Pivots", "pivot_levels"]

_CAMARILLA = 1.1

# (name, how it is built from the day's high H, low L, close C, P = (H + L + C) / 3 and range R = H - L)
PIVOT_LEVELS = (
    ("p", "P"),
    ("r1", "standard R1 = 2P - L"),
    ("s1", "standard S1 = 2P - H"),
    ("r2", "standard R2 = P + R"),
    ("s2", "standard S2 = P - R"),
    ("fib_r1", "Fibonacci R1 = P + 0.382 R"),
    ("fib_s1", "Fibonacci S1 = P - 0.382 R"),
    ("fib_r2", "Fibonacci R2 = P + 0.618 R"),
    ("fib_s2", "Fibonacci S2 = P - 0.618 R"),
    ("cam_r1", "Camarilla R1 = C + 1.1 R / 12"),
    ("cam_s1", "Camarilla S1 = C - 1.1 R / 12"),
    ("cam_r3", "Camarilla R3 = C + 1.1 R / 4"),
    ("cam_s3", "Camarilla S3 = C - 1.1 R / 4"),
    ("cam_r4", "Camarilla R4 = C + 1.1 R / 2"),
    ("cam_s4", "Camarilla S4 = C - 1.1 R / 2"),
)


def pivot_levels(high: Values, low: Values, close: Values) -> tuple[Values, ...]:
    """The ``PIVOT_LEVELS`` of a day with this high, low and close (floats or arrays), in that order."""
    p = (high + low + close) / 3.0
    r = high - low
    return (
        p,
        2.0 * p - low,
        2.0 * p - high,
        p + r,
        p - r,
        p + 0.382 * r,
        p - 0.382 * r,
        p + 0.618 * r,
        p - 0.618 * r,
        close + r * (_CAMARILLA / 12.0),
        close - r * (_CAMARILLA / 12.0),
        close + r * (_CAMARILLA / 4.0),
        close - r * (_CAMARILLA / 4.0),
        close + r * (_CAMARILLA / 2.0),
        close - r * (_CAMARILLA / 2.0),
    )


class Pivots(FixedIndicator):
    """Pivot points of the previous UTC day: standard, Fibonacci and Camarilla, as distances in %.

    The levels come from the high, low and close of the last UTC day that ended before the current
    bar's day (after a gap of whole days, the last day with bars). Fibonacci R3/S3 (P +/- R) equal
    standard R2/S2 and Camarilla R2/S2 are rarely used, so they are left out. Until the first day
    boundary no day has ended: the levels are then built from the day so far (its high, low and the
    current close), so the features exist from the first bar (warm-up 0).
    """

    def __init__(self) -> None:
        super().__init__(
            tuple(
                FeatureSpec(
                    f"pivot_{name}_dist_pct",
                    FeatureGroup.PRICE,
                    0,
                    f"100 * (close - level) / close, level = previous UTC day's {formula}",
                    {"anchor": "utc_day"},
                )
                for name, formula in PIVOT_LEVELS
            )
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        high, low, close = bars.high, bars.low, bars.close
        if not len(close):
            return tuple(np.empty(0) for _ in self.specs)
        layout = DayLayout.of(bars.ts)
        first = layout.first_day_bars  # bars of the first day seen: levels of the day so far
        first_levels = pivot_levels(
            np.maximum.accumulate(high[:first]), np.minimum.accumulate(low[:first]), close[:first]
        )
        day_levels = pivot_levels(  # the levels each day leaves to the next
            np.maximum.reduceat(high, layout.starts)[:-1],
            np.minimum.reduceat(low, layout.starts)[:-1],
            close[layout.starts[1:] - 1],
        )
        # each bar's level in [first-day levels, levels by day]: its own row, then the previous day's
        source = np.concatenate((np.arange(first), first - 1 + layout.row[first:]))
        levels = [
            np.concatenate((so_far, by_day)).take(source)
            for so_far, by_day in zip(first_levels, day_levels, strict=True)
        ]
        return pct_distances(close, levels)

    def streamer(self) -> Streamer:
        return _PivotStreamer()


class _PivotStreamer(Streamer):
    __slots__ = ("_close", "_day", "_high", "_levels", "_low")

    def __init__(self) -> None:
        self._day: int | None = None
        self._high = self._low = self._close = NAN
        self._levels: tuple[float, ...] | None = None

    def update(self, bar: Bar) -> tuple[float, ...]:
        day = bar.ts // DAY_MS
        if day != self._day:
            if self._day is not None:
                self._levels = pivot_levels(self._high, self._low, self._close)
            self._day = day
            self._high, self._low = bar.high, bar.low
        else:
            self._high = max(self._high, bar.high)
            self._low = min(self._low, bar.low)
        self._close = bar.close
        levels = self._levels if self._levels is not None else pivot_levels(self._high, self._low, bar.close)
        return pct_distances(bar.close, levels)


class Fractals(FixedIndicator):
    """Bill Williams 5-bar fractals: the latest confirmed fractal high and low, and the close's distance to them.

    A fractal high is a bar whose high is strictly above the highs of the two bars before and the
    two bars after it (ties make none); it is confirmed, and used, from the second bar after it,
    so the level at bar t uses bars <= t only. Fractal lows mirror this on the lows. Before the
    first confirmed fractal the level is the highest high (lowest low) so far, so the features exist
    from the first bar (warm-up 0).
    """

    def __init__(self) -> None:
        def spec(name: str, description: str) -> FeatureSpec:
            return FeatureSpec(name, FeatureGroup.PRICE, 0, description, {"bars": 5})

        super().__init__(
            (
                spec("fractal_high", "Latest confirmed 5-bar fractal high: resistance (price)"),
                spec("fractal_low", "Latest confirmed 5-bar fractal low: support (price)"),
                spec("fractal_high_dist_pct", "100 * (close - fractal_high) / close"),
                spec("fractal_low_dist_pct", "100 * (close - fractal_low) / close"),
            )
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        resistance = _latest_fractal_high(bars.high)
        support = -_latest_fractal_high(-bars.low)  # a fractal low is a fractal high of the negated lows
        return resistance, support, *pct_distances(bars.close, (resistance, support))

    def streamer(self) -> Streamer:
        return _FractalStreamer()


def _latest_fractal_high(values: np.ndarray) -> np.ndarray:
    """At each bar, the last fractal high confirmed so far; the running maximum before the first."""
    confirmed_at = np.full(len(values), -1)
    if len(values) >= 5:
        centre = values[2:-2]
        fractal = (centre > values[:-4]) & (centre > values[1:-3]) & (centre > values[3:-1]) & (centre > values[4:])
        bars = np.flatnonzero(fractal) + 4
        confirmed_at[bars] = bars
    latest = np.maximum.accumulate(confirmed_at)
    return np.where(latest >= 0, values[np.maximum(latest - 2, 0)], np.maximum.accumulate(values))


class _FractalHigh:
    """Streaming ``_latest_fractal_high``: the four previous values and the current level."""

    __slots__ = ("_found", "_level", "_previous")

    def __init__(self) -> None:
        self._previous = (NAN, NAN, NAN, NAN)  # oldest first; NaN compares False, so no early fractal
        self._level = -math.inf
        self._found = False

    def update(self, x: float) -> float:
        a, b, c, d = self._previous
        if c > a and c > b and c > d and c > x:
            self._level = c
            self._found = True
        elif not self._found and x > self._level:
            self._level = x
        self._previous = (b, c, d, x)
        return self._level


class _FractalStreamer(Streamer):
    __slots__ = ("_highs", "_lows")

    def __init__(self) -> None:
        self._highs = _FractalHigh()
        self._lows = _FractalHigh()

    def update(self, bar: Bar) -> tuple[float, ...]:
        resistance = self._highs.update(bar.high)
        support = -self._lows.update(-bar.low)
        return resistance, support, *pct_distances(bar.close, (resistance, support))
