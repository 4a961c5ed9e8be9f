"""O(1) streaming building blocks shared by the indicators.

They follow TA-Lib's order of floating-point operations (add the new value, emit, then subtract the
oldest), so a streaming value equals the batch value bit for bit where TA-Lib is the reference.
Each returns NaN until its window is full.
"""

from __future__ import annotations

from collections import deque

__all__ = ["NAN", "Ema", "RollingExtreme", "RollingMean", "RollingMoments", "RollingSum"]

NAN = float("nan")


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


class RollingMoments:
    """Mean and population variance of the last ``n`` values (TA-Lib ``VAR``: E[x^2] - E[x]^2)."""

    __slots__ = ("_n", "_sum", "_sum_sq", "_window")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"window must be >= 1, got {n}")
        self._n = n
        self._sum = 0.0
        self._sum_sq = 0.0
        self._window: deque[float] = deque()

    def update(self, x: float) -> tuple[float, float]:
        """Add ``x``; (mean, variance) of the last ``n`` values, NaNs before ``n`` were seen."""
        self._sum += x
        self._sum_sq += x * x
        self._window.append(x)
        if len(self._window) < self._n:
            return NAN, NAN
        mean = self._sum / self._n
        mean_sq = self._sum_sq / self._n
        old = self._window.popleft()
        self._sum -= old
        self._sum_sq -= old * old
        return mean, mean_sq - mean * mean


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
