"""Multi-timeframe fusion without look-ahead.

A higher-timeframe bar ``[T, T + H)`` becomes visible to the base timeframe only once it has CLOSED:
on the base bar whose close time is at or after ``T + H``. Its features are named ``<name>@<tf>``.
The batch path resamples with ``trading_agent.data.resample`` (completed buckets only); the
streaming path (``HigherTimeframe``) aggregates base bars into the same buckets and publishes a
bucket when a base bar closes it or a later bucket starts (a bucket whose last candles are missing
is complete once later candles exist, exactly as the batch resampler decides).
"""

from __future__ import annotations

import numpy as np

from trading_agent.domain import Timeframe
from trading_agent.features.bars import Bar, FeatureInputError

__all__ = ["HigherTimeframe", "base_timeframe", "check_higher", "suffixed", "visible_rows"]


def suffixed(name: str, timeframe: Timeframe) -> str:
    """The column name of a higher-timeframe feature."""
    return f"{name}@{timeframe.value}"


def base_timeframe(ts_ms: np.ndarray) -> Timeframe:
    """The timeframe of candles from their most common step (gaps do not change it)."""
    if len(ts_ms) < 2:
        raise FeatureInputError("at least two candles are needed to tell their timeframe")
    steps, counts = np.unique(np.diff(ts_ms), return_counts=True)
    step = int(steps[np.argmax(counts)])
    for timeframe in Timeframe:
        if timeframe.ms == step:
            return timeframe
    raise FeatureInputError(f"candles are {step} ms apart, which is not a supported timeframe")


def check_higher(base: Timeframe, higher: tuple[Timeframe, ...]) -> None:
    """Every higher timeframe must aggregate the base exactly and be longer than it."""
    for timeframe in higher:
        if timeframe == base or not base.divides(timeframe):
            raise FeatureInputError(f"{timeframe} is not a higher timeframe made of whole {base} candles")


def visible_rows(higher_open_ms: np.ndarray, higher: Timeframe, base_close_ms: np.ndarray) -> np.ndarray:
    """For each base bar, the index of the last higher bar closed by then (-1: none yet)."""
    higher_close_ms = higher_open_ms + higher.ms
    return np.searchsorted(higher_close_ms, base_close_ms, side="right") - 1


class HigherTimeframe:
    """Streams base bars into higher-timeframe bars, emitting each bar once it is complete."""

    __slots__ = ("_base", "_bucket", "_close", "_high", "_higher", "_low", "_open", "_volume")

    def __init__(self, base: Timeframe, higher: Timeframe) -> None:
        self._base = base
        self._higher = higher
        self._bucket: int | None = None
        self._open = self._high = self._low = self._close = self._volume = 0.0

    def update(self, bar: Bar) -> list[Bar]:
        """Add a base bar; the higher bars completed by it (0, 1, or 2 when a gap ended a bucket)."""
        done: list[Bar] = []
        bucket = self._higher.bucket_start(bar.ts)
        if self._bucket is not None and bucket != self._bucket:
            done.append(self._emit(self._bucket))
        if self._bucket is None:
            self._bucket = bucket
            self._open, self._high, self._low = bar.open, bar.high, bar.low
            self._volume = 0.0
        self._high = max(self._high, bar.high)
        self._low = min(self._low, bar.low)
        self._close = bar.close
        self._volume += bar.volume
        if bar.ts + self._base.ms == bucket + self._higher.ms:
            done.append(self._emit(bucket))
        return done

    def _emit(self, bucket: int) -> Bar:
        bar = Bar(bucket, self._open, self._high, self._low, self._close, self._volume)
        self._bucket = None
        return bar
