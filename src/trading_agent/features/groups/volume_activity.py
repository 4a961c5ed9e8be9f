"""Volume activity: volume-price trend, volume relative to its recent mean, volume-weighted momentum.

Not in TA-Lib: vectorised numpy (with ``talib.SUM`` for the window sums, so both paths add in the same
order) in batch, pure Python when streaming. Windows count bars: gaps in the data are not special-cased.
"""

from __future__ import annotations

from datetime import timedelta
from math import isnan

import numpy as np

from trading_agent.domain import Timeframe
from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.volume_core import (
    VolumeWindow,
    weighted_mean,
    weighted_mean_array,
    window_totals_array,
)
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["VolumePriceTrend", "VolumeRatio", "VolumeWeightedMomentum"]

_GROUP = FeatureGroup.VOLUME


def _returns(close: np.ndarray) -> np.ndarray:
    """(close - previous close) / previous close, NaN on the first bar."""
    out = np.full(len(close), np.nan)
    out[1:] = (close[1:] - close[:-1]) / close[:-1]
    return out


def _return(close: float, prev: float) -> float:
    return (close - prev) / prev


class VolumePriceTrend(FixedIndicator):
    """``vpt``: cumulative volume * (close - previous close) / previous close, 0 on the first bar seen."""

    def __init__(self) -> None:
        super().__init__([FeatureSpec("vpt", _GROUP, 0, "volume-price trend (cumulative volume x % change)")])

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        terms = bars.volume * _returns(bars.close)
        terms[:1] = 0.0
        return (np.cumsum(terms),)

    def streamer(self) -> Streamer:
        return _VolumePriceTrendStreamer()


class _VolumePriceTrendStreamer(Streamer):
    __slots__ = ("_prev_close", "_vpt")

    def __init__(self) -> None:
        self._prev_close = NAN
        self._vpt = 0.0

    def update(self, bar: Bar) -> tuple[float, ...]:
        prev = self._prev_close
        self._prev_close = bar.close
        if not isnan(prev):
            self._vpt += bar.volume * _return(bar.close, prev)
        return (self._vpt,)


class VolumeRatio(FixedIndicator):
    """``volume_ratio_<label>``: volume / its mean over the last ``window`` bars (this one included); 1 when
    the window has no volume at all. ``label`` names the span (``24h``); it defaults to the bar count.
    """

    def __init__(self, window: int = 24, *, label: str | None = None) -> None:
        if window < 2:
            raise ValueError(f"the volume-ratio window needs at least 2 bars, got {window}")
        name = f"volume_ratio_{label or window}"
        description = f"volume / mean volume of the last {window} bars" + (f" ({label})" if label else "")
        super().__init__([FeatureSpec(name, _GROUP, window - 1, description, {"window": window})])
        self._window = window

    @classmethod
    def over(cls, span: timedelta, timeframe: Timeframe | None) -> VolumeRatio:
        """The ratio to the mean volume over ``span`` of ``timeframe`` candles (24 h of 5m candles: 288 bars).

        A span shorter than two candles (24 h of daily or weekly candles) uses 2 candles; an unknown
        timeframe is taken as 1h, so 24 h is 24 bars.
        """
        span_ms = int(span / timedelta(milliseconds=1))
        bar_ms = timeframe.ms if timeframe is not None else Timeframe.H1.ms
        hours = span_ms // 3_600_000
        label = f"{hours}h" if span_ms % 3_600_000 == 0 else f"{span_ms // 60_000}m"
        return cls(max(2, span_ms // bar_ms), label=label)

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        volume = bars.volume
        _, total, active = window_totals_array(np.zeros(len(bars)), volume, self._window)
        out = np.where(np.isnan(total), np.nan, 1.0)
        np.divide(volume, total / self._window, out=out, where=(active > 0) & (total != 0.0))
        return (out,)

    def streamer(self) -> Streamer:
        return _VolumeRatioStreamer(self._window)


class _VolumeRatioStreamer(Streamer):
    __slots__ = ("_n", "_window")

    def __init__(self, window: int) -> None:
        self._n = window
        self._window = VolumeWindow(window)

    def update(self, bar: Bar) -> tuple[float, ...]:
        volume = bar.volume
        _, total, active = self._window.update(0.0, volume)
        if isnan(total):
            return (NAN,)
        return (volume / (total / self._n) if active and total != 0.0 else 1.0,)


class VolumeWeightedMomentum(FixedIndicator):
    """``vw_momentum_<n>``: sum(volume x return) / sum(volume) over the last ``n`` bars, where return is
    close / previous close - 1: the mean one-bar return weighted by volume (0 when there was no volume)."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(
            [
                FeatureSpec(
                    f"vw_momentum_{window}",
                    _GROUP,
                    window,
                    "volume-weighted mean return over the window",
                    {"window": window},
                )
            ]
        )
        self._window = window

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        weighted = _returns(bars.close) * bars.volume
        return (weighted_mean_array(weighted, bars.volume, self._window, 0.0),)

    def streamer(self) -> Streamer:
        return _VolumeWeightedMomentumStreamer(self._window)


class _VolumeWeightedMomentumStreamer(Streamer):
    __slots__ = ("_prev_close", "_window")

    def __init__(self, window: int) -> None:
        self._window = VolumeWindow(window)
        self._prev_close = NAN

    def update(self, bar: Bar) -> tuple[float, ...]:
        prev = self._prev_close
        self._prev_close = bar.close
        if isnan(prev):
            return (NAN,)
        volume = bar.volume
        return (weighted_mean(*self._window.update(_return(bar.close, prev) * volume, volume), 0.0),)
