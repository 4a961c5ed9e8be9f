"""Delta's candle resolutions, the request windows of ``/v2/history/candles`` and the rows → frame step.

Delta has 1m 3m 5m 15m 30m 1h 2h 4h 6h 1d 1w (and 12h on the WebSocket) but no 3d: callers fetch
1d and resample. One answer holds at most 2000 candles and, when a range is longer, Delta returns
the most recent ones, so a long range is split into windows. Whether ``end`` is inclusive is not
documented: each window asks for ``[start, start + 1999 bars]``, at most 2000 bars if inclusive,
and the next window starts on the last bar of the previous one, so either reading leaves no hole
(the one overlapping bar is de-duplicated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from trading_agent.data.errors import DataError, ExchangeError
from trading_agent.data.frames import OHLCV_COLUMNS, empty_candles, frame_from_arrays
from trading_agent.domain import Timeframe

__all__ = ["MAX_CANDLES_PER_REQUEST", "candle_frame", "candle_windows", "resolution_for"]

MAX_CANDLES_PER_REQUEST = 2000

_RESOLUTIONS: dict[Timeframe, str] = {tf: tf.value for tf in Timeframe if tf is not Timeframe.D3}


def resolution_for(timeframe: Timeframe) -> str:
    """Delta's resolution string for ``timeframe``; 3d does not exist on Delta (resample 1d)."""
    try:
        return _RESOLUTIONS[timeframe]
    except KeyError:
        raise DataError(f"Delta Exchange has no {timeframe} candles: fetch 1d and resample") from None


def candle_windows(timeframe: Timeframe, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """``(start_s, end_s)`` request windows covering the open times in ``[start_ms, end_ms)``."""
    step_ms = (MAX_CANDLES_PER_REQUEST - 1) * timeframe.ms
    first = timeframe.bucket_start(start_ms)
    if first < start_ms:
        first += timeframe.ms
    last = timeframe.bucket_start(end_ms - 1)
    windows = []
    for window_start in range(first, last + 1, step_ms):
        windows.append((window_start // 1000, min(window_start + step_ms, last) // 1000))
    return windows


def _number(row: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = row.get(name, default)
    if value is None or isinstance(value, bool):
        raise ExchangeError(f"Delta candle row {row!r}: field {name!r} is missing or not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExchangeError(f"Delta candle row {row!r}: field {name!r} is not a number") from None


def candle_frame(rows: Iterable[Any], start_ms: int, end_ms: int) -> pd.DataFrame:
    """A candle frame from Delta's rows (``time`` in seconds), sorted, de-duplicated, limited to the range.

    Mark-price rows carry no volume: it becomes 0. Of two rows with the same time, the later one wins.
    """
    parsed: dict[int, tuple[float, ...]] = {}
    for row in rows:
        if not isinstance(row, Mapping):
            raise ExchangeError(f"Delta candle row {row!r} is not a JSON object")
        ts_ms = int(_number(row, "time")) * 1000
        if start_ms <= ts_ms < end_ms:
            prices = tuple(_number(row, name) for name in ("open", "high", "low", "close"))
            parsed[ts_ms] = (*prices, _number(row, "volume", 0.0))
    if not parsed:
        return empty_candles()
    times = sorted(parsed)
    values = np.array([parsed[ts] for ts in times], dtype="float64")
    return frame_from_arrays(
        np.array(times, dtype="int64"), {name: values[:, i] for i, name in enumerate(OHLCV_COLUMNS)}
    )
