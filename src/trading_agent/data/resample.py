"""Resample candles to coarser timeframes with a small numpy kernel.

Buckets follow ``Timeframe.bucket_start``: multiples of their length since the Unix epoch
(``3d`` too), weeks from Monday 00:00 UTC. The kernel finds the first row of every bucket and
aggregates with ``np.maximum.reduceat`` / ``np.minimum.reduceat`` / ``np.add.reduceat``: first
open, highest high, lowest low, last close, summed volume.

Why not ``DataFrame.resample``: it is slower (``benchmarks/bench_resample.py`` measures both:
about 1.4x per target, 3.5x for all eleven targets of 1m data, which ``resample_all`` cascades),
and no single pandas call gives these buckets: on a UTC index pandas ignores ``origin="epoch"``
for day multiples (so its ``3D`` is not epoch-aligned), and weeks need ``W-MON`` with ``label``
and ``closed`` set to ``"left"``.

Semantics worth knowing:

* A bucket with internal gaps (an exchange outage inside the hour) is still produced, from the
  candles that are present; it then describes only those candles. Find gaps with the
  data-quality pipeline (``trading_agent.data.quality``) before trusting such buckets.
* Only the LAST bucket can be "not finished yet": it is left out when its end is later than the
  close time of the last source candle (last open time + ``source.ms``), unless
  ``include_incomplete_last=True``. So resampling ``candles[:t]`` yields exactly the completed
  buckets that resampling the full series yields up to ``t``: no look-ahead.
* The input must be a clean candle frame (UTC index, strictly increasing, on the source grid);
  anything else raises ``ResampleError``. NaN prices propagate into their bucket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_agent.data.errors import DataError
from trading_agent.data.frames import OHLCV_COLUMNS, frame_from_arrays, index_ms
from trading_agent.domain import Timeframe

__all__ = ["ResampleError", "bucket_starts", "resample_all", "resample_candles"]


class ResampleError(DataError):
    """Candles cannot be resampled as asked (target not a multiple of the source, or unclean input)."""


@dataclass(frozen=True, slots=True)
class _Bars:
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def head(self, n: int) -> _Bars:
        return _Bars(self.ts[:n], self.open[:n], self.high[:n], self.low[:n], self.close[:n], self.volume[:n])


def bucket_starts(ts_ms: np.ndarray, timeframe: Timeframe) -> np.ndarray:
    """Vectorised ``Timeframe.bucket_start``: the open time of the bucket holding each timestamp."""
    ts = np.asarray(ts_ms, dtype="int64")
    starts: np.ndarray = ts - (ts - timeframe.offset_ms) % timeframe.ms
    return starts


def resample_candles(
    frame: pd.DataFrame,
    source: Timeframe,
    target: Timeframe,
    *,
    include_incomplete_last: bool = False,
) -> pd.DataFrame:
    """Aggregate ``source`` candles into ``target`` candles (see the module docstring for the rules).

    Raises ``ResampleError`` when ``source`` does not divide ``target`` or the frame is not a clean
    candle frame on the ``source`` grid.
    """
    return resample_all(frame, source, [target], include_incomplete_last=include_incomplete_last)[target]


def resample_all(
    frame: pd.DataFrame,
    source: Timeframe,
    targets: Iterable[Timeframe] | None = None,
    *,
    include_incomplete_last: bool = False,
) -> dict[Timeframe, pd.DataFrame]:
    """Resample to several timeframes at once (default: every coarser one that ``source`` divides).

    Each target is aggregated from the coarsest already computed timeframe that divides it
    (1m → 5m → 15m → ...), which gives the same numbers as aggregating the source directly, up
    to float rounding in the volume sums, in a fraction of the time. Keys come in ascending length.
    """
    if targets is None:
        wanted = [tf for tf in Timeframe if tf is not source and source.divides(tf)]
    else:
        wanted = sorted(set(targets), key=lambda tf: tf.ms)
        for tf in wanted:
            _require_divides(source, tf)
    base = _source_bars(frame, source)
    last_close_ms = int(base.ts[-1]) + source.ms if len(base.ts) else 0
    aggregates: dict[Timeframe, _Bars] = {source: base}
    result: dict[Timeframe, pd.DataFrame] = {}
    for tf in wanted:
        if tf not in aggregates:
            parent = max((p for p in aggregates if p.divides(tf)), key=lambda p: p.ms)
            aggregates[tf] = _aggregate(aggregates[parent], tf)
        bars = aggregates[tf]
        if not include_incomplete_last:
            bars = _without_incomplete_last(bars, tf, last_close_ms)
        result[tf] = _to_frame(bars)
    return result


def _require_divides(source: Timeframe, target: Timeframe) -> None:
    if not source.divides(target):
        raise ResampleError(
            f"cannot resample {source} candles to {target}: {target} buckets are not whole numbers "
            f"of {source} candles on the UTC grid"
        )


def _source_bars(frame: pd.DataFrame, source: Timeframe) -> _Bars:
    missing = [c for c in OHLCV_COLUMNS if c not in frame.columns]
    if missing:
        raise ResampleError(f"not a candle frame: missing columns {', '.join(missing)}")
    if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.tz is None:
        raise ResampleError("not a candle frame: the index must be a UTC DatetimeIndex of open times")
    ts = index_ms(frame)
    if len(ts) > 1 and np.any(np.diff(ts) <= 0):
        raise ResampleError("open times are not strictly increasing: run the data-quality pipeline first")
    off_grid = np.flatnonzero((ts - source.offset_ms) % source.ms)
    if len(off_grid):
        first = frame.index[off_grid[0]]
        raise ResampleError(f"{len(off_grid)} open time(s) are off the {source} grid, first {first.isoformat()}")
    columns = (frame[c].to_numpy(dtype="float64") for c in OHLCV_COLUMNS)
    return _Bars(ts, *columns)


def _aggregate(bars: _Bars, target: Timeframe) -> _Bars:
    if len(bars.ts) == 0:
        return bars
    starts = bucket_starts(bars.ts, target)
    first = np.flatnonzero(np.concatenate(([True], starts[1:] != starts[:-1])))
    last = np.concatenate((first[1:], [len(starts)])) - 1
    return _Bars(
        ts=starts[first],
        open=bars.open[first],
        high=np.maximum.reduceat(bars.high, first),
        low=np.minimum.reduceat(bars.low, first),
        close=bars.close[last],
        volume=np.add.reduceat(bars.volume, first),
    )


def _without_incomplete_last(bars: _Bars, target: Timeframe, last_close_ms: int) -> _Bars:
    if len(bars.ts) and int(bars.ts[-1]) + target.ms > last_close_ms:
        return bars.head(len(bars.ts) - 1)
    return bars


def _to_frame(bars: _Bars) -> pd.DataFrame:
    columns = {name: getattr(bars, name) for name in OHLCV_COLUMNS}
    return frame_from_arrays(bars.ts, columns)
