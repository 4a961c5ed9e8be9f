"""sentiment_features: no look-ahead (truncation, the close-time boundary), hand-computed values, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trading_agent.domain import Timeframe
from trading_agent.features import FeatureInputError
from trading_agent.features.sentiment import sentiment_feature_names, sentiment_features

H = 3_600_000
T0 = 1_700_006_400_000  # 2023-11-15T00:00:00Z, on the hour


def _index(ts_ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(ts_ms, dtype="int64").view("datetime64[ms]"), name="time").tz_localize("UTC")


def _candles(n: int, start: int = T0, step: int = H) -> pd.DatetimeIndex:
    return _index(start + np.arange(n, dtype="int64") * step)


def _scores(ts_ms: list[int] | np.ndarray, values: list[float] | np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"score": np.asarray(values, dtype="float64"), "source": "test"}, index=_index(np.asarray(ts_ms))
    )


def _random_scores(n: int, seed: int = 3) -> pd.DataFrame:
    """``n`` items at random milliseconds over the candles' span, some on exact candle boundaries, unsorted."""
    rng = np.random.default_rng(seed)
    ts = rng.integers(T0 - 10 * H, T0 + 600 * H, n)
    ts[: n // 10] = T0 + rng.integers(0, 600, n // 10) * H  # exactly at an open/close
    return _scores(ts, rng.uniform(-1, 1, n))


def test_truncating_the_scores_at_t_changes_no_candle_closing_by_t() -> None:
    candles = _candles(600)
    scores = _random_scores(3000)
    full = sentiment_features(candles, Timeframe.H1, scores, windows=(3, 24, 168))
    ts = scores.index.as_unit("ms").asi8
    close = candles.as_unit("ms").asi8 + H
    for cut in (T0 + 5 * H, T0 + 100 * H + 1, T0 + 377 * H - 1, T0 + 599 * H):
        truncated = sentiment_features(candles, Timeframe.H1, scores[ts <= cut], windows=(3, 24, 168))
        done = close <= cut
        assert done.sum() > 0
        pd.testing.assert_frame_equal(truncated[done], full[done], check_exact=True)
        # and the cut is not vacuous: some later candle does see the items after the cut
        assert not truncated[~done].equals(full[~done])


def test_a_headline_one_millisecond_after_the_close_waits_for_the_next_candle() -> None:
    candles = _candles(5)
    close_2 = T0 + 3 * H  # candle 2 opens at T0 + 2H and closes at T0 + 3H
    at_close = sentiment_features(candles, Timeframe.H1, _scores([T0 + 2 * H, close_2], [-0.5, 0.8]), windows=(2,))
    after = sentiment_features(candles, Timeframe.H1, _scores([T0 + 2 * H, close_2 + 1], [-0.5, 0.8]), windows=(2,))
    assert at_close.loc[candles[2], "sent_count_2"] == 2
    assert at_close.loc[candles[2], "sent_last"] == 0.8
    assert after.loc[candles[2], "sent_count_2"] == 1
    assert after.loc[candles[2], "sent_mean_2"] == -0.5
    assert after.loc[candles[2], "sent_last"] == -0.5
    pd.testing.assert_series_equal(after.loc[candles[3]], at_close.loc[candles[3]])  # the next candle sees it


def test_a_small_case_by_hand() -> None:
    candles = _candles(4)  # closes at T0+1H, +2H, +3H, +4H
    scores = _scores(
        [T0 + 2 * H + 5, T0 - 30 * 60_000, T0 + H, T0 + 2 * H + 5, T0 + 3 * H + 1],
        [0.6, 0.2, -0.4, -1.0, 0.9],
    )
    out = sentiment_features(candles, Timeframe.H1, scores, windows=(1, 2))
    assert list(out.columns) == ["sent_mean_1", "sent_count_1", "sent_mean_2", "sent_count_2", "sent_last"]
    assert out.index.equals(candles)
    # candle 0 (close T0+1H): 1-candle window (T0, T0+1H] holds -0.4; 2-candle (T0-1H, T0+1H] also 0.2
    # candle 1 (close T0+2H): (T0+1H, T0+2H] is empty; (T0, T0+2H] holds -0.4
    # candle 2 (close T0+3H): (T0+2H, T0+3H] holds 0.6 then -1.0 (same ms, frame order); 2-candle the same
    # candle 3 (close T0+4H): (T0+3H, T0+4H] holds 0.9; (T0+2H, T0+4H] holds 0.6, -1.0, 0.9
    np.testing.assert_allclose(out["sent_mean_1"], [-0.4, np.nan, -0.2, 0.9])
    np.testing.assert_array_equal(out["sent_count_1"], [1, 0, 2, 1])
    np.testing.assert_allclose(out["sent_mean_2"], [-0.1, -0.4, -0.2, 0.5 / 3])
    np.testing.assert_array_equal(out["sent_count_2"], [2, 1, 2, 3])
    np.testing.assert_array_equal(out["sent_last"], [-0.4, -0.4, -1.0, 0.9])


def test_no_items_yet_gives_nan_means_zero_counts_and_no_last() -> None:
    candles = _candles(3)
    out = sentiment_features(candles, Timeframe.H1, _scores([T0 + 10 * H], [0.5]))
    assert list(out.columns) == sentiment_feature_names()
    assert out.filter(like="mean").isna().all().all()
    assert (out.filter(like="count") == 0).all().all()
    assert out["sent_last"].isna().all()
    empty = sentiment_features(candles, Timeframe.H1, _scores([], []), prefix="fng")
    assert list(empty.columns) == sentiment_feature_names(prefix="fng")
    assert (empty["fng_count_24"] == 0).all()


def test_windows_are_clock_time_across_a_gap_in_the_candles() -> None:
    candles = _index(np.array([T0, T0 + H, T0 + 10 * H]))  # a 9-hour gap before the last candle
    out = sentiment_features(candles, Timeframe.H1, _scores([T0 + H + 1], [0.3]), windows=(2, 10))
    np.testing.assert_array_equal(out["sent_count_2"], [0, 1, 0])  # the last close is T0+11H: 10 hours later
    np.testing.assert_array_equal(out["sent_count_10"], [0, 1, 1])
    assert out["sent_last"].iloc[2] == 0.3


@pytest.mark.parametrize(
    ("candles", "scores", "windows", "message"),
    [
        (_candles(3).tz_localize(None), _scores([T0], [0.1]), (24,), "candles need a UTC DatetimeIndex"),
        (_candles(3)[::-1], _scores([T0], [0.1]), (24,), "strictly increasing"),
        (_candles(3), _scores([T0], [1.5]), (24,), "not in \\[-1, 1\\]"),
        (_candles(3), _scores([T0], [np.nan]), (24,), "is nan"),
        (_candles(3), _scores([T0], [0.1]).rename(columns={"score": "value"}), (24,), "lack the column 'score'"),
        (_candles(3), _scores([T0], [0.1]), (0,), "positive numbers of candles"),
        (_candles(3), _scores([T0], [0.1]), (24, 24), "distinct"),
    ],
)
def test_bad_input_is_refused(
    candles: pd.DatetimeIndex, scores: pd.DataFrame, windows: tuple[int, ...], message: str
) -> None:
    with pytest.raises(FeatureInputError, match=message):
        sentiment_features(candles, Timeframe.H1, scores, windows=windows)
