"""Momentum, volume and derived indicators on hostile candles: streaming == batch, and restorable.

The contract test runs on real candles, which have no flat stretches and almost no zero volume. These
synthetic candles have what breaks naive replicas of TA-Lib: a flat, volume-less start; a long flat
stretch after moves; zero-volume windows with moving prices; bars with high == low; ranges of 1e-15
of the price; a 50% jump; and a lone tiny volume inside a dead window.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from tests.testkit.features import column_scale, stream
from trading_agent.features import Bars
from trading_agent.features.groups import derived, momentum, volume
from trading_agent.features.indicator import Indicator

INDICATORS = [*momentum.default_indicators(), *volume.default_indicators(), *derived.default_indicators()]
IDS = [",".join(spec.name for spec in indicator.specs)[:60] for indicator in INDICATORS]


def _hostile_bars(n: int = 1500, seed: int = 7) -> Bars:
    rng = np.random.default_rng(seed)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), 2)
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + np.round(np.abs(rng.normal(0, 0.3, n)), 2)
    low = np.minimum(open_, close) - np.round(np.abs(rng.normal(0, 0.3, n)), 2)
    volume = np.round(np.abs(rng.normal(10, 5, n)), 3)

    def flat(start: int, stop: int, price: float) -> None:
        for column in (open_, high, low, close):
            column[start:stop] = price
        volume[start:stop] = 0.0

    flat(0, 70, 100.0)
    flat(300, 420, float(close[299]))
    volume[600:650] = 0.0
    for i in range(800, 820):
        open_[i] = high[i] = low[i] = close[i] = close[i - 1] + 0.01 * (1 if i % 2 else -1)
    for column in (open_, high, low, close):
        column[1000:] *= 1.5
    for i in range(1100, 1150):
        open_[i] = low[i] = close[i] = close[1099]
        high[i] = close[1099] * (1 + 1e-15 * (i % 3))
    volume[1200:1230] = 0.0
    volume[1215] = 1e-9
    index = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)
    return Bars.from_frame(frame)


BARS = _hostile_bars()


@pytest.mark.parametrize("indicator", INDICATORS, ids=IDS)
def test_streaming_equals_batch_on_hostile_candles(indicator: Indicator) -> None:
    for spec, expected, actual in zip(indicator.specs, indicator.batch(BARS), stream(indicator, BARS), strict=True):
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{spec.name}: NaN positions")
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9 * column_scale(expected), err_msg=spec.name)
        assert not np.isnan(expected[spec.warmup :]).any(), f"{spec.name} has NaN after its warm-up"


@pytest.mark.parametrize("indicator", INDICATORS, ids=IDS)
def test_restored_streamer_continues_identically_inside_a_dead_stretch(indicator: Indicator) -> None:
    streamer = indicator.streamer()
    for i in range(350):
        streamer.update(BARS.bar(i))
    clone = pickle.loads(pickle.dumps(streamer))
    for i in range(350, 700):
        bar = BARS.bar(i)
        np.testing.assert_array_equal(clone.update(bar), streamer.update(bar))


@pytest.mark.parametrize("indicator", INDICATORS, ids=IDS)
def test_batch_handles_empty_and_tiny_inputs(indicator: Indicator) -> None:
    for n in (0, 1, 2):
        columns = indicator.batch(BARS.head(n))
        assert len(columns) == len(indicator.specs)
        for values in columns:
            assert values.shape == (n,)
            assert values.dtype == np.float64
