"""Real candles for feature tests, and the streaming path run over them."""

from __future__ import annotations

import functools

import numpy as np

from tests.testkit.services import shared_data_file
from trading_agent.data.files import read_candle_file
from trading_agent.domain import Timeframe
from trading_agent.features import Bar, Bars, FeatureGroup, FeatureSpec
from trading_agent.features.indicator import Indicator, Streamer

# Jan-May 2018 of Binance BTC/USDT 1h: a real crash, real fat tails and two real gaps (one of 33 h).
REAL_BARS = 3000


@functools.cache
def real_bars(n: int = REAL_BARS) -> Bars:
    """The first ``n`` real BTC/USDT hourly candles (skips or fails when ../shared/data is absent)."""
    frame = read_candle_file(shared_data_file("binance_BTCUSDT_1h.csv.gz"), Timeframe.H1).iloc[:n]
    return Bars.from_frame(frame)


def stream(indicator: Indicator, bars: Bars) -> list[np.ndarray]:
    """The streaming path's values, one array per spec."""
    streamer = indicator.streamer()
    rows = [streamer.update(bars.bar(i)) for i in range(len(bars))]
    return [np.array([row[k] for row in rows], dtype="float64") for k in range(len(indicator.specs))]


def column_scale(values: np.ndarray) -> float:
    """The typical magnitude of a column (for an absolute tolerance on values that cross zero)."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 1.0


class _CloseStreamer(Streamer):
    __slots__ = ()

    def update(self, bar: Bar) -> tuple[float, ...]:
        return (bar.close,)


class CloseIndicator(Indicator):
    """The close itself, as a feature: makes higher-timeframe visibility checkable by hand."""

    @property
    def specs(self) -> tuple[FeatureSpec, ...]:
        return (FeatureSpec("close", FeatureGroup.PRICE, 0, "the close"),)

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (bars.close.copy(),)

    def streamer(self) -> Streamer:
        return _CloseStreamer()
