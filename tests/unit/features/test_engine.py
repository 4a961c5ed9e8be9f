"""FeatureEngine: the streaming rows equal compute_features, it survives a restart, it refuses bad order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.testkit.features import column_scale
from tests.testkit.services import shared_data_file
from trading_agent.data.files import read_candle_file
from trading_agent.domain import Timeframe
from trading_agent.features import Bars, FeatureEngine, FeatureInputError, FeatureStateError, compute_features


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return read_candle_file(shared_data_file("binance_BTCUSDT_1h.csv.gz"), Timeframe.H1).iloc[:1500]


def _stream(engine: FeatureEngine, bars: Bars, start: int, stop: int) -> list[dict[str, float]]:
    return [engine.update(bars.bar(i)) for i in range(start, stop)]


@pytest.mark.real_data
def test_streaming_rows_equal_the_batch_with_higher_timeframes(candles: pd.DataFrame) -> None:
    batch = compute_features(candles, higher_timeframes=["4h", "1d"])
    engine = FeatureEngine(timeframe="1h", higher_timeframes=["4h", "1d"])
    rows = _stream(engine, Bars.from_frame(candles), 0, len(candles))
    streamed = pd.DataFrame(rows, index=candles.index)
    assert list(streamed.columns) == list(batch.columns)
    for name in batch.columns:
        expected, actual = batch[name].to_numpy(), streamed[name].to_numpy()
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=name)
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9 * column_scale(expected), err_msg=name)


@pytest.mark.real_data
def test_save_and_restore_continues_identically(candles: pd.DataFrame) -> None:
    bars = Bars.from_frame(candles)
    engine = FeatureEngine(timeframe="1h", higher_timeframes=["4h"])
    _stream(engine, bars, 0, 700)
    restored = FeatureEngine.restore(engine.save())
    a = pd.DataFrame(_stream(engine, bars, 700, 900))
    b = pd.DataFrame(_stream(restored, bars, 700, 900))
    pd.testing.assert_frame_equal(a, b)


def test_restore_refuses_foreign_state() -> None:
    with pytest.raises(FeatureStateError, match="not a saved feature-engine state"):
        FeatureEngine.restore(b"garbage")


def test_candles_must_move_forward(candles: pd.DataFrame) -> None:
    bars = Bars.from_frame(candles.iloc[:3])
    engine = FeatureEngine()
    engine.update(bars.bar(0))
    engine.update(bars.bar(1))
    with pytest.raises(FeatureInputError, match="not after the previous one"):
        engine.update(bars.bar(1))
    with pytest.raises(FeatureInputError, match="need the series' own timeframe"):
        FeatureEngine(higher_timeframes=["4h"])


@pytest.mark.real_data
def test_clock_time_windows_follow_the_timeframe_in_both_paths() -> None:
    minutes = read_candle_file(shared_data_file("binance_BTCUSDT_1m.csv.gz"), Timeframe.M1).iloc[:1600]
    batch = compute_features(minutes)["volume_ratio_24h"].to_numpy()
    assert np.isnan(batch[:1439]).all()  # 24 h of one-minute candles
    assert np.isfinite(batch[1439:]).all()
    engine = FeatureEngine(timeframe="1m")
    bars = Bars.from_frame(minutes)
    streamed = np.array([engine.update(bars.bar(i))["volume_ratio_24h"] for i in range(len(bars))])
    np.testing.assert_allclose(streamed, batch, rtol=1e-9, equal_nan=True)
