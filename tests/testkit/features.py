"""Candles for feature tests (real ones, hand-made ones, simulated ones) and the batch == streaming check."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from tests.testkit.services import shared_data_file
from trading_agent.data.files import read_candle_file
from trading_agent.domain import Timeframe
from trading_agent.features import Bar, Bars, FeatureGroup, FeatureSpec
from trading_agent.features.indicator import Indicator, Streamer

HOUR = 3_600_000  # ms
DAY = 24 * HOUR
T0 = 1_514_764_800_000  # 2018-01-01 00:00 UTC, a Monday: where hand-made bars start unless told otherwise

# Jan-May 2018 of Binance BTC/USDT 1h: a real crash, real fat tails and two real gaps (one of 33 h).
REAL_BARS = 3000


@functools.cache
def real_bars(n: int = REAL_BARS) -> Bars:
    """The first ``n`` real BTC/USDT hourly candles (skips or fails when ../shared/data is absent)."""
    frame = read_candle_file(shared_data_file("binance_BTCUSDT_1h.csv.gz"), Timeframe.H1).iloc[:n]
    return Bars.from_frame(frame)


def make_bars(
    close: npt.ArrayLike,
    high: npt.ArrayLike | None = None,
    low: npt.ArrayLike | None = None,
    open_: npt.ArrayLike | None = None,
    volume: npt.ArrayLike | None = None,
    *,
    spread: float = 0.0,
    ts: npt.ArrayLike | None = None,
    start: int = T0,
    step_ms: int = HOUR,
) -> Bars:
    """Hand-made bars, unvalidated (so zero or inconsistent prices can be tested).

    Open defaults to the close, high and low to close +- ``spread``, volume to 1; the open times are
    ``ts`` when given, else every ``step_ms`` from ``start``.
    """
    c = np.array(close, dtype="float64")

    def column(values: npt.ArrayLike | None, default: np.ndarray) -> np.ndarray:
        return default if values is None else np.array(values, dtype="float64")

    times = np.arange(len(c), dtype="int64") * step_ms + start if ts is None else np.array(ts, dtype="int64")
    return Bars(
        times,
        column(open_, c.copy()),
        column(high, c + spread),
        column(low, c - spread),
        c,
        column(volume, np.ones(len(c))),
    )


def random_walk(n: int, seed: int | np.random.Generator, *, step: float = 0.01, level: float = 100.0) -> np.ndarray:
    """``n`` closes of a geometric random walk from ``level``, log-steps normal with std ``step``."""
    return level * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, step, n)))


def garch_returns(n: int = 3000, seed: int = 0) -> np.ndarray:
    """A GARCH(1,1) series of hourly-sized log returns (clustered volatility, fat tails)."""
    rng = np.random.default_rng(seed)
    out, variance = np.empty(n), 1e-4
    for t in range(n):
        out[t] = np.sqrt(variance) * rng.standard_normal()
        variance = 1e-6 + 0.1 * out[t] ** 2 + 0.88 * variance
    return out


def random_bars(
    n: int, seed: int, *, level: float = 100.0, step: float = 0.01, spread: float = 0.5, max_volume: float | None = None
) -> Bars:
    """Simulated bars: a random walk of closes, high/low at close +- |normal(0, ``spread``)|, and volume
    uniform on [0, ``max_volume``) (1 when ``max_volume`` is None); all drawn from one generator in that order."""
    rng = np.random.default_rng(seed)
    close = random_walk(n, rng, step=step, level=level)
    half_range = np.abs(rng.normal(0, spread, n))
    volume = None if max_volume is None else rng.uniform(0, max_volume, n)
    return make_bars(close, close + half_range, close - half_range, volume=volume)


def stream(indicator: Indicator, bars: Bars) -> list[np.ndarray]:
    """The streaming path's values, one array per spec."""
    streamer = indicator.streamer()
    rows = [streamer.update(bars.bar(i)) for i in range(len(bars))]
    return [np.array([row[k] for row in rows], dtype="float64") for k in range(len(indicator.specs))]


def batch_and_stream(indicator: Indicator, bars: Bars, *, rtol: float = 0.0, atol: float = 0.0) -> list[np.ndarray]:
    """The batch columns, after checking that streaming gives the same values: exactly by default,
    else to ``rtol``/``atol`` (NaN where the other path has NaN, in both cases)."""
    batch = indicator.batch(bars)
    for spec, expected, actual in zip(indicator.specs, batch, stream(indicator, bars), strict=True):
        if rtol == atol == 0.0:
            np.testing.assert_array_equal(actual, expected, err_msg=spec.name)
        else:
            np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=spec.name)
    return list(batch)


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
