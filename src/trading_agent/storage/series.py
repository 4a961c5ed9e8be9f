"""Stored time series as plain arrays, and their conversion from and to DataFrames.

A :class:`SeriesTable` says where a kind of series lives (table, key columns, value columns);
a :class:`SeriesBatch` is the rows of one series as numpy arrays, the form the bulk backends
(:mod:`.sqlite_bulk`, :mod:`.postgres_bulk`) read and write. The frame shape is the project's
(``trading_agent.data.frames``, which storage may not import): a UTC ``DatetimeIndex`` named
``time`` of open times and float64 columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_agent.storage.errors import InvalidFrameError

__all__ = ["CANDLES", "FUNDING", "SeriesBatch", "SeriesTable", "batch_from_frame", "frame_from_batch"]

_NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class SeriesTable:
    """Where one kind of series is stored. Names are code constants, safe to put into SQL."""

    name: str
    key_columns: tuple[str, ...]
    value_columns: tuple[str, ...]
    time_column: str = "ts"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column in storage order: keys, time, values."""
        return (*self.key_columns, self.time_column, *self.value_columns)

    def select_range(
        self, key: tuple[str, ...], start_ms: int | None, end_ms: int | None, placeholder: str
    ) -> tuple[str, list[object]]:
        """``SELECT time, values ... ORDER BY time`` for one series and ``start_ms <= time < end_ms``.

        Returns the SQL, with ``placeholder`` (the driver's parameter marker) for every value, and
        the parameters.
        """
        conditions = [f"{column} = {placeholder}" for column in self.key_columns]
        params: list[object] = list(key)
        for operator, bound in ((">=", start_ms), ("<", end_ms)):
            if bound is not None:
                conditions.append(f"{self.time_column} {operator} {placeholder}")
                params.append(int(bound))
        columns = ", ".join((self.time_column, *self.value_columns))
        where = " AND ".join(conditions)
        return f"SELECT {columns} FROM {self.name} WHERE {where} ORDER BY {self.time_column}", params


CANDLES = SeriesTable("candles", ("exchange", "symbol", "timeframe"), ("open", "high", "low", "close", "volume"))
FUNDING = SeriesTable("funding_rates", ("exchange", "symbol"), ("funding_rate",))


@dataclass(frozen=True, slots=True)
class SeriesBatch:
    """Rows of one series: int64 epoch-ms times, strictly increasing, and one float64 array per value column."""

    ts: np.ndarray
    values: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.ts)


def batch_from_frame(frame: pd.DataFrame, table: SeriesTable) -> SeriesBatch:
    """Validate ``frame`` and take its arrays; extra columns are ignored.

    Raises :class:`InvalidFrameError` naming the problem: not a DataFrame, a missing or
    non-numeric column, a NaN or infinite value, an index that is not a timezone-aware
    ``DatetimeIndex``, has sub-millisecond times, or is not strictly increasing.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidFrameError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in table.value_columns if column not in frame.columns]
    if missing:
        raise InvalidFrameError(
            f"frame is missing column(s) {', '.join(missing)}: {table.name} need {', '.join(table.value_columns)}"
        )
    ts = _index_ms(frame.index)
    values = tuple(_column_values(frame, column, ts) for column in table.value_columns)
    return SeriesBatch(ts, values)


def frame_from_batch(batch: SeriesBatch, table: SeriesTable) -> pd.DataFrame:
    """The project's frame shape: a UTC ``time`` index of open times and float64 value columns."""
    index = pd.DatetimeIndex(batch.ts.astype("int64", copy=False).view("datetime64[ms]"), name="time")
    data = dict(zip(table.value_columns, batch.values, strict=True))
    return pd.DataFrame(data, index=index.tz_localize("UTC"), copy=False)


def _index_ms(index: pd.Index) -> np.ndarray:
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidFrameError(f"frame index must be a DatetimeIndex of open times, got {type(index).__name__}")
    if index.tz is None:
        raise InvalidFrameError("frame index must be timezone-aware (UTC); got naive times")
    ns = np.asarray(index.as_unit("ns").asi8, dtype="int64")
    if (ns % _NS_PER_MS).any():
        raise InvalidFrameError("frame index has sub-millisecond times: storage keeps epoch milliseconds")
    ts = ns // _NS_PER_MS
    steps = np.diff(ts)
    if (steps <= 0).any():
        position = int(np.argmax(steps <= 0)) + 1
        raise InvalidFrameError(
            f"frame index must be strictly increasing (no duplicates): row {position} at {index[position]} "
            f"does not come after {index[position - 1]}"
        )
    return ts


def _column_values(frame: pd.DataFrame, column: str, ts: np.ndarray) -> np.ndarray:
    try:
        values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidFrameError(f"column {column!r} is not numeric: {exc}") from None
    finite = np.isfinite(values)
    if not finite.all():
        position = int(np.argmin(finite))
        when = pd.Timestamp(int(ts[position]), unit="ms", tz="UTC")
        raise InvalidFrameError(f"column {column!r} has {values[position]} at {when}: values must be finite")
    return values
