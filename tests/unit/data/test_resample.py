from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading_agent.data.errors import DataError
from trading_agent.data.files import read_candle_file
from trading_agent.data.frames import OHLCV_COLUMNS, empty_candles, index_ms
from trading_agent.data.quality import default_pipeline
from trading_agent.data.resample import ResampleError, bucket_starts, resample_all, resample_candles
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import Timeframe

M1 = Timeframe.M1
COARSER_THAN_1M = [tf for tf in Timeframe if tf is not M1]
AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
PANDAS_RULE = {
    Timeframe.M3: "3min",
    Timeframe.M5: "5min",
    Timeframe.M15: "15min",
    Timeframe.M30: "30min",
    Timeframe.H1: "1h",
    Timeframe.H2: "2h",
    Timeframe.H4: "4h",
    Timeframe.H6: "6h",
    Timeframe.D1: "1D",
}


def pandas_reference(frame: pd.DataFrame, target: Timeframe) -> pd.DataFrame:
    """The reference: pandas resample (weeks: W-MON, left label and edge; 3d: an epoch-aligned groupby)."""
    if target is Timeframe.D3:
        buckets = pd.to_datetime(bucket_starts(index_ms(frame), target), unit="ms", utc=True).as_unit("ms")
        out = frame.groupby(pd.DatetimeIndex(buckets, name="time")).agg(AGG)
    elif target is Timeframe.W1:
        out = frame.resample("W-MON", label="left", closed="left").agg(AGG)
    else:
        out = frame.resample(PANDAS_RULE[target]).agg(AGG)
    return out.dropna(subset=["open"])  # pandas emits empty buckets for gaps


def assert_same_candles(ours: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert list(ours.columns) == list(OHLCV_COLUMNS)
    np.testing.assert_array_equal(index_ms(ours), index_ms(reference))
    for column in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(ours[column].to_numpy(), reference[column].to_numpy(), err_msg=column)
    np.testing.assert_allclose(ours["volume"].to_numpy(), reference["volume"].to_numpy(), rtol=1e-12)


@pytest.fixture(scope="module")
def real_1m(btc_1m_path: Path) -> pd.DataFrame:
    return read_candle_file(btc_1m_path, M1)


@pytest.fixture(scope="module")
def gappy_1m() -> pd.DataFrame:
    """Three weeks of synthetic 1m candles with random holes: single minutes, whole hours and a whole day."""
    frame = SyntheticMarket(seed=11, timeframe=M1).generate(30_000)
    rng = np.random.default_rng(3)
    keep = rng.random(len(frame)) > 0.02
    keep[600:780] = False
    keep[5_000:6_440] = False
    return frame[keep]


@pytest.mark.real_data
@pytest.mark.parametrize("target", COARSER_THAN_1M, ids=str)
def test_matches_pandas_on_real_1m_data(real_1m: pd.DataFrame, target: Timeframe) -> None:
    ours = resample_candles(real_1m, M1, target, include_incomplete_last=True)
    assert_same_candles(ours, pandas_reference(real_1m, target))


@pytest.mark.parametrize("target", COARSER_THAN_1M, ids=str)
def test_matches_pandas_on_synthetic_data_with_gaps(gappy_1m: pd.DataFrame, target: Timeframe) -> None:
    ours = resample_candles(gappy_1m, M1, target, include_incomplete_last=True)
    assert_same_candles(ours, pandas_reference(gappy_1m, target))


def test_resample_all_cascades_to_the_same_numbers_as_direct_resampling(gappy_1m: pd.DataFrame) -> None:
    cascaded = resample_all(gappy_1m, M1)
    assert list(cascaded) == COARSER_THAN_1M
    for target, frame in cascaded.items():
        assert_same_candles(frame, resample_candles(gappy_1m, M1, target))


def test_resample_all_from_5m_offers_only_timeframes_that_5m_divides() -> None:
    frame = SyntheticMarket(seed=1, timeframe=Timeframe.M5).generate(3_000)
    assert list(resample_all(frame, Timeframe.M5)) == [tf for tf in Timeframe if tf.ms > Timeframe.M5.ms]


def test_incomplete_last_bucket_is_left_out_unless_asked_for() -> None:
    frame = SyntheticMarket(seed=2, timeframe=M1).generate(68)  # 00:00 .. 01:07, last close 01:08
    hourly = resample_candles(frame, M1, Timeframe.H1)
    assert list(hourly.index.strftime("%H:%M")) == ["00:00"]
    with_partial = resample_candles(frame, M1, Timeframe.H1, include_incomplete_last=True)
    assert list(with_partial.index.strftime("%H:%M")) == ["00:00", "01:00"]
    assert with_partial["close"].iloc[-1] == frame["close"].iloc[-1]
    five = resample_candles(frame.iloc[:65], M1, Timeframe.M5)  # last close 01:05 ends the 01:00 bucket
    assert five.index[-1].strftime("%H:%M") == "01:00"


def test_bucket_with_an_internal_gap_is_kept_when_the_series_goes_on() -> None:
    full = SyntheticMarket(seed=4, timeframe=M1).generate(180)
    frame = full.drop(full.index[30:60])
    hourly = resample_candles(frame, M1, Timeframe.H1)
    assert len(hourly) == 3
    assert hourly["volume"].iloc[0] == pytest.approx(frame["volume"].iloc[:30].sum())


def test_cascade_applies_the_last_bucket_rule_against_the_source_end() -> None:
    """1m data 00:00-00:03, then only 00:16: the 00:00 quarter is done (with a gap), 00:15 is not."""
    frame = SyntheticMarket(seed=5, timeframe=M1).generate(17).iloc[[0, 1, 2, 3, 16]]
    for result in (resample_all(frame, M1)[Timeframe.M15], resample_candles(frame, M1, Timeframe.M15)):
        assert list(result.index.strftime("%H:%M")) == ["00:00"]


def test_weeks_start_on_monday_and_3d_buckets_on_the_epoch_grid(gappy_1m: pd.DataFrame) -> None:
    result = resample_all(gappy_1m, M1, [Timeframe.W1, Timeframe.D3], include_incomplete_last=True)
    weeks = result[Timeframe.W1].index
    assert len(weeks) >= 3
    assert (weeks.day_of_week == 0).all() and (weeks.hour == 0).all()
    assert (index_ms(result[Timeframe.D3]) % Timeframe.D3.ms == 0).all()


def test_no_look_ahead_truncated_series_gives_the_same_completed_buckets(gappy_1m: pd.DataFrame) -> None:
    full = resample_all(gappy_1m, M1)
    for cut in (61, 997, 5_321, 17_777):
        truncated = resample_all(gappy_1m.iloc[:cut], M1)
        for target, frame in truncated.items():
            assert_same_candles(frame, full[target].iloc[: len(frame)])
            close_of_cut = int(index_ms(gappy_1m)[cut - 1]) + M1.ms
            completed = index_ms(full[target]) + target.ms <= close_of_cut
            assert len(frame) == int(completed.sum())


@pytest.mark.real_data
def test_real_1m_aggregates_to_the_real_1h_file_on_full_hours(real_1m: pd.DataFrame, btc_1h_path: Path) -> None:
    real_1h = read_candle_file(btc_1h_path, Timeframe.H1)
    minutes_per_hour = real_1m["volume"].groupby(real_1m.index.floor("1h")).size()
    full_hours = minutes_per_hour.index[minutes_per_hour == 60].intersection(real_1h.index)
    ours = resample_candles(real_1m, M1, Timeframe.H1).loc[full_hours]
    theirs = real_1h.loc[full_hours]
    same = (ours == theirs)[["open", "high", "low", "close"]].all(axis=1)
    assert len(full_hours) == 1020
    assert same.sum() == 1017  # shared/data/README.md: the rest are next to maintenance windows
    np.testing.assert_allclose(ours["volume"][same], theirs["volume"][same], rtol=1e-9)
    gaps = default_pipeline().run(real_1m, M1).report.check("missing_candles").examples
    maintenance_ends = pd.DatetimeIndex([g["next_present"] for g in gaps])
    for hour in full_hours[~same.to_numpy()]:
        since_maintenance = hour - maintenance_ends
        assert ((since_maintenance > pd.Timedelta(0)) & (since_maintenance < pd.Timedelta(days=3))).any(), hour


def test_empty_frame_gives_empty_frames() -> None:
    result = resample_all(empty_candles(), M1)
    assert all(frame.empty and list(frame.columns) == list(OHLCV_COLUMNS) for frame in result.values())


def test_same_timeframe_is_returned_unchanged() -> None:
    frame = SyntheticMarket(seed=6, timeframe=Timeframe.W1).generate(10)
    pd.testing.assert_frame_equal(resample_candles(frame, Timeframe.W1, Timeframe.W1), frame)


@pytest.mark.parametrize(
    ("source", "target"),
    [(Timeframe.H1, Timeframe.M5), (Timeframe.D3, Timeframe.W1), (Timeframe.M3, Timeframe.M5)],
    ids=str,
)
def test_target_the_source_does_not_divide_is_refused_by_name(source: Timeframe, target: Timeframe) -> None:
    frame = SyntheticMarket(seed=7, timeframe=source).generate(10)
    with pytest.raises(ResampleError, match=f"cannot resample {source} candles to {target}") as error:
        resample_candles(frame, source, target)
    assert isinstance(error.value, DataError)


def test_unclean_input_is_refused() -> None:
    frame = SyntheticMarket(seed=8, timeframe=M1).generate(10)
    with pytest.raises(ResampleError, match="strictly increasing"):
        resample_candles(frame.iloc[::-1], M1, Timeframe.M5)
    with pytest.raises(ResampleError, match="off the 5m grid"):
        resample_candles(frame, Timeframe.M5, Timeframe.H1)
    with pytest.raises(ResampleError, match="missing columns volume"):
        resample_candles(frame.drop(columns="volume"), M1, Timeframe.M5)
    with pytest.raises(ResampleError, match="UTC DatetimeIndex"):
        resample_candles(frame.tz_localize(None), M1, Timeframe.M5)
