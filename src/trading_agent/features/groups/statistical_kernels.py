"""Array kernels and O(1) streaming state shared by the statistical indicators.

Two rules make the batch and streaming paths agree bit for bit rather than approximately:

* Window sums always run in TA-Lib's order (add the newest value, emit, subtract the oldest), in
  batch through ``talib.SUM`` and in streaming through ``RollingSum`` or the same steps written
  out. A cumulative-sum difference would be faster to write but loses ~1e-7 relative precision
  over a million bars; a running sum does not.
* Degenerate windows are detected exactly, from run lengths of equal values: a window whose values
  are all equal (a flat price, a stretch of zero volume) has no spread, and the features say so
  with a documented value instead of dividing rounding noise by rounding noise.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
import talib

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.rolling import NAN

__all__ = [
    "EqualRun",
    "Source",
    "SourceReader",
    "flat_windows",
    "log_returns",
    "running_sum",
    "source_values",
    "zscores",
]


class Source(StrEnum):
    """The series a statistical feature is computed on."""

    CLOSE = "close"
    VOLUME = "volume"
    LOGRET = "logret"  # log(close_t / close_t-1); undefined (NaN) on the first bar


def log(value: float) -> float:
    """One logarithm, computed as the batch path's ``np.log`` computes it (as a float).

    The streaming paths of this group use it instead of ``math.log``: NumPy's vectorised log
    (AVX-512 on some CPUs) may differ from the C library's in the last bit, and batch and stream
    must agree exactly. NumPy applies the same loop to one value as to an array. About 150 ns.
    """
    return float(np.log(value))


def log_returns(close: np.ndarray) -> np.ndarray:
    """``log(close_t / close_t-1)``, NaN at bar 0 (same operations as ``SourceReader``)."""
    returns = np.full(len(close), np.nan)
    returns[1:] = np.log(close[1:] / close[:-1])
    return returns


def source_values(bars: Bars, source: Source) -> np.ndarray:
    """The ``source`` series of ``bars``."""
    if source is Source.CLOSE:
        return bars.close
    if source is Source.VOLUME:
        return bars.volume
    return log_returns(bars.close)


class SourceReader:
    """The ``source`` value of each bar in turn (NaN for the first log return)."""

    __slots__ = ("_prev", "_source")

    def __init__(self, source: Source) -> None:
        self._source = source
        self._prev = NAN

    def read(self, bar: Bar) -> float:
        """The value of ``bar``."""
        if self._source is Source.CLOSE:
            return bar.close
        if self._source is Source.VOLUME:
            return bar.volume
        prev, self._prev = self._prev, bar.close
        return NAN if math.isnan(prev) else log(bar.close / prev)


def running_sum(values: np.ndarray, n: int) -> np.ndarray:
    """Sum of the last ``n`` values in ``RollingSum``'s operation order (it is ``talib.SUM``).

    Leading NaNs are skipped (the window starts at the first finite value); NaN until ``n`` values.
    """
    return np.asarray(talib.SUM(np.ascontiguousarray(values, dtype="float64"), timeperiod=n), dtype="float64")


def flat_windows(values: np.ndarray, n: int) -> np.ndarray:
    """Whether the last ``n`` values at each index are all equal (exact; NaN never equals anything)."""
    changed = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=changed[1:])
    changes = np.cumsum(changed, dtype="int64")
    flat = np.zeros(len(values), dtype=bool)
    flat[n - 1 :] = changes[n - 1 :] == changes[: max(len(values) - n + 1, 0)]
    return flat


class EqualRun:
    """The length of the run of equal values ending with the newest; ``flat_windows`` is run >= n."""

    __slots__ = ("_last", "_run")

    def __init__(self) -> None:
        self._last = NAN
        self._run = 0

    def update(self, x: float) -> int:
        """Add ``x``; the length of the run of equal values ending with it."""
        self._run = self._run + 1 if x == self._last else 1
        self._last = x
        return self._run


def zscores(values: np.ndarray, mean: np.ndarray, std: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """``(values - mean) / std``; 0 where the window is ``flat`` or has no positive std (NaN stays NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z: np.ndarray = (values - mean) / std
    z[(flat | (std == 0)) & ~np.isnan(std)] = 0.0
    return z
