"""Where the newest value sits in its recent past: rolling z-scores and percentile ranks."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections import deque

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.statistical_kernels import (
    EqualRun,
    Source,
    SourceReader,
    flat_windows,
    source_values,
    zscores,
)
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN, WindowMeanStd
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["PercentileRank", "RollingZScore"]


class RollingZScore(FixedIndicator):
    """``zscore_<source>_<n>``: (x - mean) / std of the last ``n`` values of the source, x included.

    TA-Lib ``SMA`` and ``STDDEV`` (population std, so |z| <= sqrt(n - 1)); the stream uses
    ``WindowMeanStd``, their exact replica. 0 when the last ``n`` values are all equal (flat price,
    zero volume) or the std is 0.
    """

    def __init__(self, source: Source, n: int) -> None:
        if n < 2:
            raise ValueError(f"a z-score needs a window of >= 2 values, got {n}")
        self.source = source
        self.n = n
        warmup = n if source is Source.LOGRET else n - 1
        what = "log return" if source is Source.LOGRET else source.value
        super().__init__(
            (
                FeatureSpec(
                    f"zscore_{source}_{n}",
                    FeatureGroup.STATISTICAL,
                    warmup,
                    f"z-score of the {what} against the mean and population std of its last {n} values "
                    "(0 when they are all equal)",
                    {"source": source.value, "n": n},
                ),
            )
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        x = np.ascontiguousarray(source_values(bars, self.source))
        mean, std = talib.SMA(x, self.n), talib.STDDEV(x, self.n, 1.0)
        return (zscores(x, mean, std, flat_windows(x, self.n)),)

    def streamer(self) -> Streamer:
        return _ZScoreStreamer(self.source, self.n)


class _ZScoreStreamer(Streamer):
    __slots__ = ("_moments", "_n", "_reader", "_run")

    def __init__(self, source: Source, n: int) -> None:
        self._reader = SourceReader(source)
        self._moments = WindowMeanStd(n)
        self._run = EqualRun()
        self._n = n

    def update(self, bar: Bar) -> tuple[float, ...]:
        x = self._reader.read(bar)
        if math.isnan(x):
            return (NAN,)
        run = self._run.update(x)
        mean, std = self._moments.update(x)
        if math.isnan(std):
            return (NAN,)
        if run >= self._n or std == 0:
            return (0.0,)
        return ((x - mean) / std,)


class PercentileRank(FixedIndicator):
    """``pctrank_<source>_<n>``: the rank of the newest value among the last ``n`` values, in [0, 1].

    (number of the n - 1 earlier values below x + half the number equal to x) / (n - 1): 0 is a new
    low, 1 a new high, 0.5 the middle; ties count half, so a flat window gives 0.5.
    """

    def __init__(self, source: Source, windows: tuple[int, ...]) -> None:
        if source is Source.LOGRET or not windows or not 2 <= min(windows) <= max(windows) <= 128:
            raise ValueError(f"percentile ranks need close or volume and windows in 2..128, got {source}, {windows}")
        self.source = source
        self.windows = tuple(sorted(windows))
        super().__init__(
            tuple(
                FeatureSpec(
                    f"pctrank_{source}_{n}",
                    FeatureGroup.STATISTICAL,
                    n - 1,
                    f"percentile rank of the {source.value} among its last {n} values (ties count half)",
                    {"source": source.value, "n": n},
                )
                for n in self.windows
            )
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        x = source_values(bars, self.source)
        score = np.zeros(len(x), dtype="uint8")  # 2 * below + equal over the earlier values, <= 2 * (n - 1)
        flags = np.empty(len(x), dtype=bool)
        columns = []
        for k in range(1, self.windows[-1]):
            if k < len(x):
                for compare in (np.greater, np.greater_equal):
                    compare(x[k:], x[:-k], out=flags[k:])
                    np.add(score[k:], flags[k:].view("uint8"), out=score[k:])
            if k + 1 in self.windows:
                column = score / (2 * k)
                column[:k] = np.nan
                columns.append(column)
        return tuple(columns)

    def streamer(self) -> Streamer:
        return _PercentileRankStreamer(self.source, self.windows)


class _PercentileRankStreamer(Streamer):
    """Per window: the earlier values, in arrival order and sorted (bisect on a list of <= n values)."""

    __slots__ = ("_earlier", "_reader", "_sorted", "_windows")

    def __init__(self, source: Source, windows: tuple[int, ...]) -> None:
        self._reader = SourceReader(source)
        self._windows = windows
        self._earlier: deque[float] = deque()
        self._sorted: list[list[float]] = [[] for _ in windows]

    def update(self, bar: Bar) -> tuple[float, ...]:
        x = self._reader.read(bar)
        earlier = self._earlier
        seen = len(earlier)
        values = []
        for n, ordered in zip(self._windows, self._sorted, strict=True):
            values.append(
                (bisect_left(ordered, x) + bisect_right(ordered, x)) / (2 * (n - 1)) if seen >= n - 1 else NAN
            )
            insort(ordered, x)
            if seen >= n - 1:
                del ordered[bisect_left(ordered, earlier[seen - n + 1])]
        earlier.append(x)
        if seen >= self._windows[-1] - 1:
            earlier.popleft()
        return tuple(values)
