"""Frame validation at the store's boundary, and the frames the store hands back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trading_agent.storage import InvalidFrameError
from trading_agent.storage.series import CANDLES, FUNDING, SeriesBatch, batch_from_frame, frame_from_batch

T0 = 1_700_000_040_000


def candle_frame(n: int = 4) -> pd.DataFrame:
    index = pd.DatetimeIndex((T0 + 60_000 * np.arange(n)).view("datetime64[ms]"), name="time").tz_localize("UTC")
    close = 100.0 + np.arange(n)
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.ones(n)}, index=index
    )


def test_batch_takes_times_and_columns_and_ignores_extras() -> None:
    frame = candle_frame().assign(rsi=50.0)
    batch = batch_from_frame(frame, CANDLES)
    assert batch.ts.tolist() == [T0 + 60_000 * i for i in range(4)]
    assert [values.tolist() for values in batch.values][3] == [100.0, 101.0, 102.0, 103.0]
    assert all(values.dtype == np.float64 for values in batch.values)


def test_frame_round_trip_has_the_project_shape() -> None:
    frame = candle_frame()
    back = frame_from_batch(batch_from_frame(frame, CANDLES), CANDLES)
    pd.testing.assert_frame_equal(back, frame)
    assert back.index.name == "time"
    assert str(back.index.dtype) == "datetime64[ms, UTC]"


def test_other_timezones_are_converted_and_coarser_units_accepted() -> None:
    frame = candle_frame()
    frame.index = frame.index.tz_convert("Asia/Kolkata").as_unit("s")
    assert batch_from_frame(frame, CANDLES).ts[0] == T0


def test_empty_frame_is_an_empty_batch() -> None:
    assert len(batch_from_frame(candle_frame(0), CANDLES)) == 0
    empty = frame_from_batch(SeriesBatch(np.empty(0, "int64"), (np.empty(0),)), FUNDING)
    assert list(empty.columns) == ["funding_rate"]
    assert str(empty.index.tz) == "UTC"


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda f: f.drop(columns=["volume", "low"]), "missing column\\(s\\) low, volume"),
        (lambda f: f.reset_index(drop=True), "must be a DatetimeIndex"),
        (lambda f: f.tz_localize(None), "timezone-aware"),
        (lambda f: f.iloc[[0, 2, 1, 3]], "strictly increasing.*row 2"),
        (lambda f: f.iloc[[0, 1, 1, 2]], "strictly increasing"),
        (lambda f: f.set_axis(f.index + pd.Timedelta(microseconds=5)), "sub-millisecond"),
        (lambda f: f.assign(close=["a", "b", "c", "d"]), "column 'close' is not numeric"),
        (lambda f: f.assign(high=[1.0, np.inf, 1.0, 1.0]), "column 'high' has inf at 2023-11-14 22:15:00"),
        (lambda f: f.assign(open=pd.array([1.0, None, 2.0, 3.0], dtype="Float64")), "column 'open' has nan"),
    ],
    ids=["missing", "not-datetime", "naive", "unsorted", "duplicate", "sub-ms", "text", "inf", "NA"],
)
def test_bad_frames_are_refused_with_a_clear_message(breakage, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidFrameError, match=message):
        batch_from_frame(breakage(candle_frame()), CANDLES)


def test_not_a_frame() -> None:
    with pytest.raises(InvalidFrameError, match="expected a pandas DataFrame, got list"):
        batch_from_frame([1, 2], CANDLES)  # type: ignore[arg-type]


def test_select_range_is_half_open_and_parameterised() -> None:
    sql, params = CANDLES.select_range(("ex", "SYM", "1m"), 10, None, "?")
    assert sql == (
        "SELECT ts, open, high, low, close, volume FROM candles "
        "WHERE exchange = ? AND symbol = ? AND timeframe = ? AND ts >= ? ORDER BY ts"
    )
    assert params == ["ex", "SYM", "1m", 10]
    sql, params = FUNDING.select_range(("ex", "SYM"), None, 20, "%s")
    assert sql.endswith("WHERE exchange = %s AND symbol = %s AND ts < %s ORDER BY ts")
    assert params == ["ex", "SYM", 20]
