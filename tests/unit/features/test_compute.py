"""compute_features: columns, higher-timeframe fusion without look-ahead, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.testkit.features import CloseIndicator
from tests.testkit.services import shared_data_file
from trading_agent.data.files import read_candle_file
from trading_agent.data.frames import frame_from_arrays
from trading_agent.domain import Timeframe
from trading_agent.features import (
    FEATURE_SETS,
    FeatureInputError,
    UnknownFeatureSetError,
    compute_features,
    feature_specs,
)

H = 3_600_000


@pytest.fixture
def close_set(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(FEATURE_SETS, "close_only", lambda timeframe: [CloseIndicator()])
    return "close_only"


@pytest.fixture(scope="module")
def real_candles() -> pd.DataFrame:
    return read_candle_file(shared_data_file("binance_BTCUSDT_1h.csv.gz"), Timeframe.H1).iloc[:2000]


def _candles(n: int, start: int = 1_700_000_000_000 // H * H, step: int = H) -> pd.DataFrame:
    close = 100.0 + np.arange(n, dtype="float64")
    ts = start + np.arange(n, dtype="int64") * step
    return frame_from_arrays(
        ts, {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.ones(n)}
    )


@pytest.mark.real_data
def test_columns_and_index(real_candles: pd.DataFrame) -> None:
    features = compute_features(real_candles)
    assert list(features.columns) == [spec.name for spec in feature_specs()]
    assert features.index.equals(real_candles.index)


def test_a_higher_candle_is_visible_only_from_the_base_candle_that_closes_it(close_set: str) -> None:
    day = 86_400_000
    candles = _candles(30, start=1_700_006_400_000 // day * day)  # 00:00 UTC, 30 hourly candles
    features = compute_features(candles, close_set, higher_timeframes=["4h"])
    close_4h = features["close@4h"].to_numpy()
    assert np.isnan(close_4h[:3]).all()  # the first 4h candle (00:00-04:00) closes with the 03:00 candle
    assert close_4h[3] == candles["close"].iloc[3]
    assert close_4h[4:7].tolist() == [candles["close"].iloc[3]] * 3  # 04:00-07:00 still see the first 4h candle
    assert close_4h[7] == candles["close"].iloc[7]
    assert close_4h[-1] == candles["close"].iloc[27]  # 28:00-30:00 is incomplete: the last complete one is shown


@pytest.mark.real_data
@pytest.mark.parametrize("higher", [(), ("4h", "1d")])
def test_no_look_ahead_with_and_without_higher_timeframes(real_candles: pd.DataFrame, higher: tuple[str, ...]) -> None:
    full = compute_features(real_candles, higher_timeframes=higher)
    rng = np.random.default_rng(20241124)
    for cut in sorted(rng.integers(300, len(real_candles), size=4)):
        part = compute_features(real_candles.iloc[:cut], higher_timeframes=higher)
        pd.testing.assert_frame_equal(part, full.iloc[:cut], check_exact=False, rtol=1e-9, atol=1e-12)


def test_bad_input_is_named(close_set: str) -> None:
    candles = _candles(10)
    with pytest.raises(FeatureInputError, match="strictly increasing"):
        compute_features(candles.iloc[::-1], close_set)
    with pytest.raises(FeatureInputError, match="strictly increasing"):
        compute_features(pd.concat([candles, candles.iloc[[-1]]]), close_set)
    nan_candle = candles.copy()
    nan_candle.iloc[4, nan_candle.columns.get_loc("close")] = np.nan
    with pytest.raises(FeatureInputError, match="non-finite close"):
        compute_features(nan_candle, close_set)
    negative = candles.copy()
    negative.iloc[2, negative.columns.get_loc("low")] = 0.0
    with pytest.raises(FeatureInputError, match="non-positive low"):
        compute_features(negative, close_set)
    with pytest.raises(FeatureInputError, match="UTC"):
        compute_features(candles.tz_localize(None), close_set)
    with pytest.raises(FeatureInputError, match="volume"):
        compute_features(candles.drop(columns="volume"), close_set)
    with pytest.raises(UnknownFeatureSetError, match="known sets are"):
        compute_features(candles, "nope")
    with pytest.raises(FeatureInputError, match="6h is not a higher timeframe made of whole 4h"):
        compute_features(_candles(10, step=4 * H), close_set, higher_timeframes=["6h"])


def test_constant_prices_and_zero_volume_give_no_infinities() -> None:
    n = 400
    ts = 1_700_000_000_000 // H * H + np.arange(n, dtype="int64") * H
    flat = frame_from_arrays(
        ts,
        {
            "open": np.full(n, 50.0),
            "high": np.full(n, 50.0),
            "low": np.full(n, 50.0),
            "close": np.full(n, 50.0),
            "volume": np.zeros(n),
        },
    )
    values = compute_features(flat).to_numpy()
    assert not np.isinf(values).any()


def test_windows_count_candles_across_a_gap() -> None:
    """The documented behaviour: a gap is not special-cased; indicators continue with the next candle."""
    candles = _candles(60)
    gapped = pd.concat([candles.iloc[:30], candles.iloc[40:]])  # ten hours missing
    features = compute_features(gapped)
    closes = gapped["close"].to_numpy()
    after_gap = 35  # the 36th candle present, five after the gap
    assert features["sma_20"].iloc[after_gap] == pytest.approx(closes[after_gap - 19 : after_gap + 1].mean())
