"""O(1) streaming building blocks shared by the indicators.

They follow TA-Lib's order of floating-point operations (add the new value, emit, then subtract the
oldest), so a streaming value equals the batch value bit for bit where TA-Lib is the reference.
Each returns NaN until its window is full.

``WindowMeanStd`` is TA-Lib 0.8's deviation (``STDDEV``/``BBANDS``): running sums of deviations from
a shift, re-anchored on the window mean whenever they go stale, instead of the cancellation-prone
``E[x^2] - E[x]^2`` (which drifts from TA-Lib by 4e-10 relative on BTC 1h and far more on 1-minute
bars). Its re-anchoring costs O(n) at most once per bar: bounded, whatever the history length.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["NAN", "Ema", "Lag", "RollingExtreme", "RollingMean", "RollingSum", "WindowMeanStd", "true_range"]

NAN = float("nan")


def true_range(high: float, low: float, prev_close: float) -> float:
    """TA-Lib's true range: the largest of high - low, |prev_close - high| and |prev_close - low|."""
    return max(high - low, abs(prev_close - high), abs(prev_close - low))


class RollingSum:
    """Sum of the last ``n`` values (TA-Lib's running ``periodTotal``)."""

    __slots__ = ("_n", "_total", "_window")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"window must be >= 1, got {n}")
        self._n = n
        self._total = 0.0
        self._window: deque[float] = deque()

    def update(self, x: float) -> float:
        """Add ``x``; the sum of the last ``n`` values, NaN before ``n`` values were seen."""
        self._total += x
        self._window.append(x)
        if len(self._window) < self._n:
            return NAN
        total = self._total
        self._total -= self._window.popleft()
        return total


class RollingMean:
    """Simple moving average of the last ``n`` values (TA-Lib ``SMA``)."""

    __slots__ = ("_n", "_sum")

    def __init__(self, n: int) -> None:
        self._n = n
        self._sum = RollingSum(n)

    def update(self, x: float) -> float:
        """Add ``x``; the mean of the last ``n`` values."""
        return self._sum.update(x) / self._n


class Ema:
    """Exponential moving average seeded with the SMA of the first ``n`` values (TA-Lib ``EMA``).

    ``k`` defaults to 2 / (n + 1); pass ``k = 1 / n`` for Wilder's smoothing.
    """

    __slots__ = ("_count", "_k", "_n", "_value")

    def __init__(self, n: int, k: float | None = None) -> None:
        if n < 1:
            raise ValueError(f"period must be >= 1, got {n}")
        self._n = n
        self._k = 2.0 / (n + 1) if k is None else k
        self._count = 0
        self._value = 0.0

    def update(self, x: float) -> float:
        """Add ``x``; the EMA, NaN before ``n`` values were seen."""
        if self._count >= self._n:
            self._value = (x - self._value) * self._k + self._value
            return self._value
        self._count += 1
        self._value += x
        if self._count < self._n:
            return NAN
        self._value /= self._n
        return self._value


class RollingExtreme:
    """Maximum (``largest=True``) or minimum of the last ``n`` values, amortised O(1) (monotonic deque)."""

    __slots__ = ("_count", "_largest", "_n", "_window")

    def __init__(self, n: int, *, largest: bool) -> None:
        if n < 1:
            raise ValueError(f"window must be >= 1, got {n}")
        self._n = n
        self._largest = largest
        self._count = 0
        self._window: deque[tuple[int, float]] = deque()

    def update(self, x: float) -> float:
        """Add ``x``; the extreme of the last ``n`` values, NaN before ``n`` were seen."""
        window = self._window
        if self._largest:
            while window and window[-1][1] <= x:
                window.pop()
        else:
            while window and window[-1][1] >= x:
                window.pop()
        window.append((self._count, x))
        if window[0][0] <= self._count - self._n:
            window.popleft()
        self._count += 1
        return window[0][1] if self._count >= self._n else NAN


class Lag:
    """The value seen ``n`` updates ago (NaN before ``n + 1`` values were seen)."""

    __slots__ = ("_n", "_window")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"lag must be >= 1, got {n}")
        self._n = n
        self._window: deque[float] = deque(maxlen=n + 1)

    def update(self, x: float) -> float:
        """Add ``x``; the value ``n`` updates before it."""
        window = self._window
        window.append(x)
        return window[0] if len(window) > self._n else NAN


_STALE_RATIO = 1e-6  # re-anchor when the variance falls below this share of the mean squared deviation
_OUTLIER_RATIO = 1e6  # ... or when a departing squared deviation dwarfs the remaining sum
_FLOOR_RATIO = 1e-12  # after re-anchoring, a variance below this share of it is rounding noise: 0
_RESEED_WINDOWS = 32  # ... and at least every 32 windows


class WindowMeanStd:
    """Mean and population standard deviation of the last ``n`` values, as TA-Lib 0.8 ``BBANDS`` (SMA).

    Amortised O(1): the re-anchoring costs O(n) and happens at most once per bar.
    """

    __slots__ = ("_inv_n", "_n", "_reseed_in", "_shift", "_sum", "_sum_dev", "_sum_dev_sq", "_window")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"window must be >= 1, got {n}")
        self._n = n
        self._inv_n = 1.0 / n
        self._window: deque[float] = deque()
        self._shift = NAN
        self._sum = 0.0
        self._sum_dev = 0.0
        self._sum_dev_sq = 0.0
        self._reseed_in = _RESEED_WINDOWS * n

    def update(self, x: float) -> tuple[float, float]:
        """Add ``x``; (mean, std) of the last ``n`` values, NaNs before ``n`` were seen."""
        window = self._window
        if not window and self._shift != self._shift:
            self._shift = x  # TA-Lib anchors on the first value
        window.append(x)
        self._sum += x
        dev = x - self._shift
        self._sum_dev += dev
        self._sum_dev_sq += dev * dev
        if len(window) < self._n:
            return NAN, NAN
        inv_n = self._inv_n
        mean_dev = self._sum_dev * inv_n
        variance = self._sum_dev_sq * inv_n - mean_dev * mean_dev
        mean = self._sum / self._n
        old = window.popleft()
        self._sum -= old
        dev = old - self._shift
        self._sum_dev -= dev
        dev_sq = dev * dev
        self._sum_dev_sq -= dev_sq
        self._reseed_in -= 1
        if (
            variance < _STALE_RATIO * (self._sum_dev_sq * inv_n)
            or dev_sq > _OUTLIER_RATIO * self._sum_dev_sq
            or self._reseed_in <= 0
        ):
            variance = self._reseed(old)
        return mean, (math.sqrt(variance) if variance != 0.0 else 0.0)

    def _reseed(self, old: float) -> float:
        """Re-anchor on the mean of the window (``old`` + the current values) and return its variance."""
        self._reseed_in = _RESEED_WINDOWS * self._n
        inv_n = self._inv_n
        total = old
        for value in self._window:
            total += value
        shift = total * inv_n
        dev = old - shift
        sum_dev = dev
        sum_dev_sq = dev * dev
        for value in self._window:
            dev = value - shift
            sum_dev += dev
            sum_dev_sq += dev * dev
        mean_dev = sum_dev * inv_n
        variance = sum_dev_sq * inv_n - mean_dev * mean_dev
        if variance < _FLOOR_RATIO * (sum_dev_sq * inv_n):
            variance = 0.0
        dev = old - shift
        self._shift = shift
        self._sum_dev = sum_dev - dev
        self._sum_dev_sq = sum_dev_sq - dev * dev
        return variance
