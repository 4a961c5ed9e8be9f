"""How log price moves scale with the horizon: a Hurst exponent and a fractal dimension.

Both regress the log of a statistic of the k-bar log-price changes D_k(s) = ln c_s - ln c_s-k on
ln k, for k in ``LAGS`` = 1, 2, 8, 16, over the changes that lie inside the window of the last
``w`` + 1 closes. The lags are symmetric around 4 in log scale, so the least-squares slope has the
closed form ln((y_16 / y_1)^2 * y_8 / y_2) / (10 ln 2) (a lag of 4 would get weight 0). Each
statistic is a ratio of running sums, so a bar costs O(len(LAGS)) whatever the window.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.statistical_kernels import EqualRun, flat_windows, log, running_sum
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["LAGS", "ScalingExponents"]

LAGS = (1, 2, 8, 16)
_SLOPE_DENOMINATOR = 10 * math.log(2)
_TINY = 1e-9  # a statistic this small against its scale is rounding noise: the window is degenerate
_NEUTRAL_HURST, _NEUTRAL_DIMENSION = 0.5, 1.5  # a random walk's values, reported for degenerate windows


class ScalingExponents(FixedIndicator):
    """``hurst_<w>`` and ``fractal_dim_<w>`` of the last ``w`` + 1 closes (w log returns).

    * Hurst exponent by the aggregated-variance method: H = slope(ln V_k, ln k) / 2, where V_k is
      the population variance of the w - k + 1 overlapping changes D_k in the window. 0.5 for a
      random walk, above for trending, below for mean-reverting prices. Classic rescaled-range
      (R/S) needs the range of a detrended cumulative sum per sub-window, which is O(w) per bar
      and too slow for the batch budget; the variance method estimates the same exponent.
    * Higuchi fractal dimension with the k offsets pooled: A_k is the mean |D_k| in the window,
      Higuchi's curve length is then L(k) ~ A_k / k^2, and D = -slope(ln L, ln k) = 2 - slope(ln
      A_k, ln k). 1 for a straight line, 1.5 for a random walk, 2 for white noise.
    Degenerate windows give the random-walk values 0.5 and 1.5: equal closes; a lag's statistic at
    most 1e-9 of the 1-bar one (exactly periodic prices); for the Hurst exponent, a lag's variance
    at most 1e-9 of its mean square (equal k-bar changes: a constant trend has no variance to scale).
    """

    def __init__(self, window: int = 100) -> None:
        if window <= 2 * LAGS[-1]:
            raise ValueError(f"the window must exceed {2 * LAGS[-1]} bars, got {window}")
        self.window = window
        params: dict[str, float | int | str] = {"window": window, "lags": ",".join(map(str, LAGS))}
        super().__init__(
            (
                FeatureSpec(
                    f"hurst_{window}",
                    FeatureGroup.STATISTICAL,
                    window,
                    f"Hurst exponent (aggregated variance of 1, 2, 8, 16-bar log-price changes) over {window} bars",
                    params,
                ),
                FeatureSpec(
                    f"fractal_dim_{window}",
                    FeatureGroup.STATISTICAL,
                    window,
                    f"Higuchi fractal dimension (pooled offsets, k = 1, 2, 8, 16) of log price over {window} bars",
                    params,
                ),
            )
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        w, size = self.window, len(bars)
        log_close = np.log(bars.close)
        change = np.full(size, np.nan)
        variances, squares, levels = [], [], []
        for k in LAGS:
            change[:k] = np.nan
            np.subtract(log_close[k:], log_close[:-k], out=change[k:])
            n = w - k + 1
            mean = running_sum(change, n)
            mean /= n
            square = running_sum(change * change, n)
            square /= n
            squares.append(square)
            variances.append(square - mean * mean)
            level = running_sum(np.abs(change), n)
            level /= n
            levels.append(level)
        flat = flat_windows(bars.close, w + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            variance_floors = [_TINY * np.maximum(variances[0], square) for square in squares]
            hurst = _slope(variances, variance_floors, flat, _NEUTRAL_HURST * 2) / 2
            dimension = 2 - _slope(levels, [_TINY * levels[0]] * len(LAGS), flat, 2 - _NEUTRAL_DIMENSION)
        hurst[:w] = dimension[:w] = np.nan
        return hurst, dimension

    def streamer(self) -> Streamer:
        return _ScalingStreamer(self.window)


class _ScalingStreamer(Streamer):
    """A ring of the last w + 2 log closes; per lag, running sums of D, D^2 and |D| in TA-Lib's order."""

    __slots__ = ("_abs", "_count", "_log_close", "_run", "_sq", "_sum", "_w")

    def __init__(self, window: int) -> None:
        self._w = window
        self._log_close: deque[float] = deque(maxlen=window + 2)  # [0] is ln c_{t-w-1} once full
        self._run = EqualRun()
        self._count = 0
        self._sum = [0.0] * len(LAGS)
        self._sq = [0.0] * len(LAGS)
        self._abs = [0.0] * len(LAGS)

    def update(self, bar: Bar) -> tuple[float, ...]:
        ring = self._log_close
        ring.append(log(bar.close))
        run = self._run.update(bar.close)
        t = self._count
        self._count += 1
        w, total, total_sq, total_abs = self._w, self._sum, self._sq, self._abs
        newest = ring[-1]
        for i, k in enumerate(LAGS):
            if t < k:
                continue
            d = newest - ring[-1 - k]
            if t > w:
                old = ring[k] - ring[0]
                total[i] = total[i] - old + d
                total_sq[i] = total_sq[i] - old * old + d * d
                total_abs[i] = total_abs[i] - abs(old) + abs(d)
            else:
                total[i] += d
                total_sq[i] += d * d
                total_abs[i] += abs(d)
        if t < w:
            return NAN, NAN
        variances, squares, levels = [], [], []
        for i, k in enumerate(LAGS):
            n = w - k + 1
            mean = total[i] / n
            square = total_sq[i] / n
            squares.append(square)
            variances.append(square - mean * mean)
            levels.append(total_abs[i] / n)
        flat = run > w
        variance_floors = [_TINY * max(variances[0], square) for square in squares]
        hurst = _slope_scalar(variances, variance_floors, flat, _NEUTRAL_HURST * 2) / 2
        dimension = 2 - _slope_scalar(levels, [_TINY * levels[0]] * len(LAGS), flat, 2 - _NEUTRAL_DIMENSION)
        return hurst, dimension


def _slope(y: list[np.ndarray], floors: list[np.ndarray], flat: np.ndarray, neutral: float) -> np.ndarray:
    """The slope of ln y on ln k, or ``neutral`` where the window is flat or some y_k <= its floor."""
    y1, y2, y8, y16 = y
    ratio = y16 / y1
    slope = np.log(ratio * ratio * (y8 / y2)) / _SLOPE_DENOMINATOR
    degenerate = flat.copy()
    for value, floor in zip(y, floors, strict=True):
        degenerate |= ~(value > floor)
    return np.where(degenerate, neutral, slope)


def _slope_scalar(y: list[float], floors: list[float], flat: bool, neutral: float) -> float:
    if flat or not all(value > floor for value, floor in zip(y, floors, strict=True)):
        return neutral
    y1, y2, y8, y16 = y
    ratio = y16 / y1
    return log(ratio * ratio * (y8 / y2)) / _SLOPE_DENOMINATOR
