"""The candle DataFrame every part of the project passes around.

Index: ``time``, a UTC ``DatetimeIndex`` of candle open times, strictly increasing.
Columns: ``open high low close volume``, float64. Funding frames have one float64 column,
``funding_rate`` (a fraction per interval), on the same kind of index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading_agent.domain import Candle

__all__ = [
    "FUNDING_COLUMNS",
    "OHLCV_COLUMNS",
    "candles_from_frame",
    "empty_candles",
    "frame_from_arrays",
    "frame_from_candles",
    "index_ms",
]

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
FUNDING_COLUMNS = ("funding_rate",)


def _time_index(ts_ms: np.ndarray) -> pd.DatetimeIndex:
    values = np.asarray(ts_ms, dtype="int64").view("datetime64[ms]")
    return pd.DatetimeIndex(values, name="time").tz_localize("UTC")


def frame_from_arrays(ts_ms: np.ndarray, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A frame on a UTC time index built from epoch-ms open times and float columns."""
    data = {name: np.asarray(values, dtype="float64") for name, values in columns.items()}
    return pd.DataFrame(data, index=_time_index(ts_ms))


def empty_candles() -> pd.DataFrame:
    """A candle frame with no rows."""
    return frame_from_arrays(np.empty(0, "int64"), {c: np.empty(0) for c in OHLCV_COLUMNS})


def index_ms(frame: pd.DataFrame) -> np.ndarray:
    """The frame's open times as int64 epoch milliseconds."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"expected a DatetimeIndex, got {type(index).__name__}")
    return np.asarray(index.as_unit("ms").asi8, dtype="int64")


def frame_from_candles(candles: list[Candle]) -> pd.DataFrame:
    """A candle frame from domain candles (in the given order)."""
    ts = np.fromiter((c.ts for c in candles), dtype="int64", count=len(candles))
    cols = {name: np.fromiter((getattr(c, name) for c in candles), "float64", len(candles)) for name in OHLCV_COLUMNS}
    return frame_from_arrays(ts, cols)


def candles_from_frame(frame: pd.DataFrame) -> list[Candle]:
    """Domain candles from a candle frame (validated one by one: use on small frames)."""
    ts = index_ms(frame)
    arrays = [frame[name].to_numpy(dtype="float64") for name in OHLCV_COLUMNS]
    return [Candle(int(t), *map(float, row)) for t, *row in zip(ts, *arrays, strict=True)]
