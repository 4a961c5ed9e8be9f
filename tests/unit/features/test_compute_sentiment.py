"""Sentiment in the batch feature path: ``compute_features(..., sentiment=)`` joins ``sent_*`` with no look-ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading_agent.data.files import read_candle_file
from trading_agent.domain import Timeframe
from trading_agent.features import compute_features
from trading_agent.features.bars import FeatureInputError
from trading_agent.features.sentiment import sentiment_feature_names
from trading_agent.training.dataset import build_training_set

CUTS = (400, 1111, 1999)


def _candles(path: Path, n: int = 2000) -> pd.DataFrame:
    return read_candle_file(path, Timeframe.H1).iloc[-n:]


def _headlines(candles: pd.DataFrame, n: int = 300, seed: int = 5) -> pd.DataFrame:
    """``n`` scores at random milliseconds over the candles' span (some exactly on a close), in random order."""
    rng = np.random.default_rng(seed)
    index_ms = pd.DatetimeIndex(candles.index).as_unit("ms").asi8
    stamps = rng.integers(index_ms[0], index_ms[-1] + Timeframe.H1.ms, n)
    stamps[:20] = index_ms[rng.integers(0, len(index_ms), 20)] + Timeframe.H1.ms  # on a close: counts at once
    frame = pd.DataFrame({"score": rng.uniform(-1, 1, n)}, index=pd.to_datetime(stamps, unit="ms", utc=True))
    return frame.rename_axis("ts")


@pytest.mark.real_data
def test_sentiment_columns_are_appended_and_neutral_where_nothing_was_public(btc_1h_path: Path) -> None:
    candles = _candles(btc_1h_path)
    plain = compute_features(candles, timeframe=Timeframe.H1)
    joined = compute_features(candles, timeframe=Timeframe.H1, sentiment=_headlines(candles), sentiment_windows=(6,))
    names = sentiment_feature_names((6,))
    assert list(joined.columns) == [*plain.columns, *names]
    pd.testing.assert_frame_equal(joined[list(plain.columns)], plain)
    empty = joined["sent_count_6"] == 0
    assert empty.any() and (~empty).any()
    assert (joined.loc[empty, "sent_mean_6"] == 0).all() and not joined[names].isna().any().any()


@pytest.mark.real_data
def test_no_look_ahead_under_truncation_of_candles_and_headlines(btc_1h_path: Path) -> None:
    candles = _candles(btc_1h_path)
    headlines = _headlines(candles)
    full = compute_features(candles, timeframe=Timeframe.H1, sentiment=headlines)
    for cut in CUTS:
        head = candles.iloc[:cut]
        known_at = head.index[-1] + pd.Timedelta(hours=1)  # the last candle's close
        for scores in (headlines[headlines.index <= known_at], headlines):  # what was public by then, or all
            part = compute_features(head, timeframe=Timeframe.H1, sentiment=scores)
            pd.testing.assert_frame_equal(part, full.iloc[:cut], check_exact=False, rtol=1e-12)


@pytest.mark.real_data
def test_the_training_set_carries_the_sentiment_features(btc_1h_path: Path) -> None:
    candles = _candles(btc_1h_path)
    data = build_training_set(candles, Timeframe.H1, sentiment=_headlines(candles), sentiment_windows=(6, 24))
    plain = build_training_set(candles, Timeframe.H1)
    assert data.feature_names == (*plain.feature_names, *sentiment_feature_names((6, 24)))
    assert len(data) == len(plain)  # neutral fill: sparse headlines drop no row


def test_sentiment_needs_the_candles_timeframe() -> None:
    one = pd.DataFrame(
        {"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1.0]},
        index=pd.DatetimeIndex(["2024-01-01"], tz="UTC", name="ts"),
    )
    scores = pd.DataFrame({"score": [0.5]}, index=pd.DatetimeIndex(["2024-01-01"], tz="UTC"))
    with pytest.raises(FeatureInputError, match="timeframe"):
        compute_features(one, sentiment=scores)
