import numpy as np
import pandas as pd
import pytest

from tests.testkit.services import shared_data_file
from trading_agent.data.files import read_candle_file
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe
from trading_agent.training.dataset import BarrierConfig, build_training_set

pytestmark = pytest.mark.real_data


def _real(n: int) -> pd.DataFrame:
    return read_candle_file(shared_data_file("binance_BTCUSDT_1h.csv.gz"), Timeframe.H1).iloc[:n]


def test_rows_are_known_features_with_decided_labels() -> None:
    candles = _real(3_000)
    data = build_training_set(candles, Timeframe.H1, barrier=BarrierConfig(horizon=24))
    assert (
        data.X.dtype == np.float32
        and data.X.shape == (len(data), len(data.feature_names))
        and len(data.feature_names) >= 100
    )
    assert np.all(np.isfinite(data.X))
    assert set(np.unique(data.y)) == {0, 1}
    open_ms = candles.index.as_unit("ms").asi8
    start = np.searchsorted(open_ms, data.open_ms)
    end = np.searchsorted(open_ms, data.label_end_ms - Timeframe.H1.ms)
    assert np.array_equal(open_ms[end] + Timeframe.H1.ms, data.label_end_ms)
    steps = end - start  # candles, not hours: the real data has gaps
    assert steps.min() >= 1 and steps.max() <= 24  # decided by a later candle's close, within the horizon
    assert np.all((data.weight > 0) & (data.weight <= 1))
    assert data.label_end_ms.max() <= open_ms[-1] + Timeframe.H1.ms  # decided inside the data, never after


def test_truncated_candles_give_the_same_rows() -> None:
    candles = _real(3_000)
    full = build_training_set(candles, Timeframe.H1)
    part = build_training_set(candles.iloc[:2_000], Timeframe.H1)
    shared = np.isin(full.open_ms, part.open_ms)
    assert shared.sum() == len(part)
    np.testing.assert_array_equal(full.X[shared], part.X)
    np.testing.assert_array_equal(full.y[shared], part.y)
    np.testing.assert_array_equal(full.label_end_ms[shared], part.label_end_ms)


def test_too_few_candles_is_a_clear_error() -> None:
    candles = SyntheticMarket(seed=1).generate(40)
    with pytest.raises(ValueError, match="no usable rows in 40 candles"):
        build_training_set(candles, Timeframe.H1)
