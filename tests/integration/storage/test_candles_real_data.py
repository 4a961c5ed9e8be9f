"""A real file through the store: 56,830 Binance BTC/USDT hourly candles, bit-exact after the round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trading_agent.domain import SeriesKey
from trading_agent.storage import SqlCandleStore

pytestmark = pytest.mark.real_data


def read_candle_file(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    ts = raw.pop("timestamp").to_numpy(dtype="int64")
    raw.index = pd.DatetimeIndex(ts.view("datetime64[ms]"), name="time").tz_localize("UTC")
    return raw.astype("float64")


def test_real_hourly_file_round_trips_exactly(store: SqlCandleStore, series_key: SeriesKey, btc_1h_path: Path) -> None:
    frame = read_candle_file(btc_1h_path)
    assert len(frame) == 56_830
    series = SeriesKey.of("binance", series_key.instrument.symbol, "1h")

    assert store.upsert_candles(series, frame) == 56_830
    assert store.upsert_candles(series, frame) == 0
    loaded = store.load_candles(series)

    pd.testing.assert_frame_equal(loaded, frame, check_exact=True)
    for column in frame.columns:  # bit-for-bit, not merely equal within a tolerance
        assert np.array_equal(loaded[column].to_numpy().view("int64"), frame[column].to_numpy().view("int64"))
