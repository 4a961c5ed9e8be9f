"""Candle resolutions, request windows and the rows → frame step."""

from __future__ import annotations

import pytest

from trading_agent.data.delta.candles import MAX_CANDLES_PER_REQUEST, candle_frame, candle_windows, resolution_for
from trading_agent.data.errors import DataError, ExchangeError
from trading_agent.data.frames import OHLCV_COLUMNS, index_ms
from trading_agent.domain import Timeframe

T0 = 1_704_067_200_000  # 2024-01-01, a Monday
MINUTE = 60_000


def test_every_timeframe_but_3d_has_a_resolution() -> None:
    assert resolution_for(Timeframe.M1) == "1m"
    assert resolution_for(Timeframe.W1) == "1w"
    with pytest.raises(DataError, match="no 3d candles: fetch 1d and resample"):
        resolution_for(Timeframe.D3)


def _opens(windows: list[tuple[int, int]], tf: Timeframe) -> list[set[int]]:
    """Open times (ms) each window covers if Delta's ``end`` is inclusive."""
    return [set(range(start * 1000, end * 1000 + 1, tf.ms)) for start, end in windows]


@pytest.mark.parametrize("count", [1, 1999, 2000, 2001, 5000, 12_345])
def test_windows_cover_the_range_with_at_most_2000_bars(count: int) -> None:
    windows = candle_windows(Timeframe.M1, T0, T0 + count * MINUTE)
    covered = _opens(windows, Timeframe.M1)
    assert all(len(bars) <= MAX_CANDLES_PER_REQUEST for bars in covered)
    assert set().union(*covered) == set(range(T0, T0 + count * MINUTE, MINUTE))
    # Reading ``end`` as exclusive loses only each window's last bar, which starts the next window.
    exclusive = [set(range(s * 1000, e * 1000, MINUTE)) for s, e in windows[:-1]] + [covered[-1]]
    assert set().union(*exclusive) == set(range(T0, T0 + count * MINUTE, MINUTE))


def test_5000_bars_take_three_requests() -> None:
    assert len(candle_windows(Timeframe.M1, T0, T0 + 5000 * MINUTE)) == 3


def test_unaligned_bounds_and_empty_ranges() -> None:
    second_hour_s = (T0 + 3_600_000) // 1000
    assert candle_windows(Timeframe.H1, T0 + 1, T0 + 2 * 3_600_000) == [(second_hour_s, second_hour_s)]
    assert candle_windows(Timeframe.H1, T0 + 1, T0 + 3_600_000) == []
    assert candle_windows(Timeframe.M1, T0, T0) == []


def test_frame_is_sorted_deduplicated_and_limited() -> None:
    rows = [
        {"time": (T0 + 2 * MINUTE) // 1000, "open": 3, "high": 3, "low": 3, "close": 3, "volume": 1},
        {"time": (T0 + MINUTE) // 1000, "open": 2, "high": 2, "low": 2, "close": 2, "volume": 1},
        {"time": (T0 + MINUTE) // 1000, "open": "2.5", "high": 2.5, "low": 2.5, "close": 2.5, "volume": 2},
        {"time": (T0 - MINUTE) // 1000, "open": 9, "high": 9, "low": 9, "close": 9, "volume": 9},
        {"time": (T0 + 3 * MINUTE) // 1000, "open": 9, "high": 9, "low": 9, "close": 9, "volume": 9},
    ]
    frame = candle_frame(rows, T0, T0 + 3 * MINUTE)
    assert list(index_ms(frame)) == [T0 + MINUTE, T0 + 2 * MINUTE]
    assert list(frame.columns) == list(OHLCV_COLUMNS)
    assert frame["close"].tolist() == [2.5, 3.0]
    assert frame.index.name == "time" and str(frame.index.tz) == "UTC"
    assert all(str(dtype) == "float64" for dtype in frame.dtypes)


def test_mark_rows_without_volume_get_zero() -> None:
    frame = candle_frame([{"time": T0 // 1000, "open": 1, "high": 1, "low": 1, "close": 1}], T0, T0 + MINUTE)
    assert frame["volume"].tolist() == [0.0]


def test_empty_and_malformed_rows() -> None:
    assert candle_frame([], T0, T0 + MINUTE).empty
    with pytest.raises(ExchangeError, match="'close'"):
        candle_frame([{"time": T0 // 1000, "open": 1, "high": 1, "low": 1}], T0, T0 + MINUTE)
    with pytest.raises(ExchangeError, match="not a JSON object"):
        candle_frame([[T0, 1, 1, 1, 1]], T0, T0 + MINUTE)
    with pytest.raises(ExchangeError, match="not a number"):
        candle_frame([{"time": T0 // 1000, "open": "x", "high": 1, "low": 1, "close": 1}], T0, T0 + MINUTE)
