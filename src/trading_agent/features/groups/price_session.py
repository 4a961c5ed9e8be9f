"""Averages anchored to the UTC day: VWAP and TWAP since 00:00 UTC.

A bar belongs to the UTC day of its open time; the sums restart on the first bar of each day. The
first day seen starts at the first bar (it may be partial). Missing bars are simply absent from the
sums (no gap special-casing). Both paths add the day's values one by one in the same order, so they
agree bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.price_base import Values, pct_distances
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["DAY_MS", "DayLayout", "SessionAverages", "typical_price"]

DAY_MS = 86_400_000


def typical_price(high: Values, low: Values, close: Values) -> Values:
    """``(high + low + close) / 3``, TA-Lib ``TYPPRICE``'s order (also applied to arrays)."""
    return (high + low + close) / 3.0


@dataclass(frozen=True, slots=True)
class DayLayout:
    """The bars of a series grouped by UTC day.

    ``starts``: index of each day's first bar; ``row``: each bar's day (0 = the first day seen);
    ``col``: its position in that day; ``width``: the longest day's bar count. Running sums lay the
    days out as the rows of a zero-padded grid (days x width: about the bar count for regular data).
    """

    starts: np.ndarray
    row: np.ndarray
    col: np.ndarray
    width: int

    @classmethod
    def of(cls, ts: np.ndarray) -> DayLayout:
        """The layout of bars opening at ``ts`` (epoch ms, increasing)."""
        day = ts // DAY_MS
        new_day = np.ones(len(ts), dtype=bool)
        new_day[1:] = day[1:] != day[:-1]
        starts = np.flatnonzero(new_day)
        lengths = np.diff(np.append(starts, len(ts)))
        row = np.repeat(np.arange(len(starts)), lengths)
        return cls(starts, row, np.arange(len(ts)) - starts[row], int(lengths.max()) if len(ts) else 0)

    @property
    def first_day_bars(self) -> int:
        """How many bars the first day seen has (it has no previous day)."""
        return int(self.starts[1]) if len(self.starts) > 1 else len(self.row)

    def running_sum(self, values: np.ndarray) -> np.ndarray:
        """The sum of ``values`` since the start of each bar's day (left to right, as the streamer adds)."""
        cells = self.row * self.width + self.col
        grid = np.zeros(len(self.starts) * self.width)
        grid[cells] = values
        table = grid.reshape(len(self.starts), self.width)
        np.cumsum(table, axis=1, out=table)
        sums: np.ndarray = grid[cells]
        return sums


class SessionAverages(FixedIndicator):
    """VWAP and TWAP of the UTC day so far, and the close's distance to each in %.

    VWAP = sum(typical price * volume) / sum(volume) over the day's bars up to now; TWAP = the mean
    typical price of those bars. While the day has traded no volume (all its bars so far have zero
    volume) the VWAP is the TWAP. Defined from the first bar (warm-up 0).
    """

    def __init__(self) -> None:
        def spec(name: str, description: str) -> FeatureSpec:
            return FeatureSpec(name, FeatureGroup.PRICE, 0, description, {"anchor": "utc_day"})

        super().__init__(
            (
                spec("vwap_day", "VWAP of the UTC day so far (typical price, volume-weighted; TWAP on no volume)"),
                spec("twap_day", "TWAP of the UTC day so far: mean typical price of its bars (price)"),
                spec("vwap_day_dist_pct", "100 * (close - vwap_day) / close"),
                spec("twap_day_dist_pct", "100 * (close - twap_day) / close"),
            )
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        layout = DayLayout.of(bars.ts)
        tp = typical_price(bars.high, bars.low, bars.close)
        day_pv = layout.running_sum(tp * bars.volume)
        day_volume = layout.running_sum(bars.volume)
        twap = layout.running_sum(tp) / (layout.col + 1)
        traded = day_volume > 0.0
        vwap = twap.copy()
        vwap[traded] = day_pv[traded] / day_volume[traded]
        return vwap, twap, *pct_distances(bars.close, (vwap, twap))

    def streamer(self) -> Streamer:
        return _SessionStreamer()


class _SessionStreamer(Streamer):
    __slots__ = ("_count", "_day", "_pv", "_tp", "_volume")

    def __init__(self) -> None:
        self._day: int | None = None
        self._pv = 0.0
        self._volume = 0.0
        self._tp = 0.0
        self._count = 0

    def update(self, bar: Bar) -> tuple[float, ...]:
        day = bar.ts // DAY_MS
        if day != self._day:
            self._day = day
            self._pv = self._volume = self._tp = 0.0
            self._count = 0
        tp = typical_price(bar.high, bar.low, bar.close)
        self._pv += tp * bar.volume
        self._volume += bar.volume
        self._tp += tp
        self._count += 1
        twap = self._tp / self._count
        vwap = self._pv / self._volume if self._volume > 0.0 else twap
        return vwap, twap, *pct_distances(bar.close, (vwap, twap))
