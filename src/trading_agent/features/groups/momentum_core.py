"""Building blocks shared by the momentum, volume and derived indicators.

``TaRsi`` and ``TaMacd`` are O(1) replicas of TA-Lib 0.8's RSI and MACD (same seeding, same
operation order), used by the momentum group and by the derived divergences. ``lagged_change`` is the batch side
of ``rolling.Lag``: "the value n bars ago".

TA-Lib 0.8 fuses the EMA step ``(x - ema) * k + ema`` into one ``fma``; Python 3.11 has no ``fma``, so
EMA-based replicas (MACD, and the EMAs of ``rolling.Ema``) differ from TA-Lib by about one ulp.
Every other replica here is bit-exact. Windows count bars: gaps in the data are not special-cased.
"""

from __future__ import annotations

from math import isnan

import numpy as np

from trading_agent.features.rolling import NAN, Ema

__all__ = [
    "NAN3",
    "TaMacd",
    "TaRsi",
    "check_macd_periods",
    "is_zero_scaled",
    "lagged_change",
]

NAN3 = (NAN, NAN, NAN)

# TA-Lib's TA_EPSILON, used by its scale-aware zero test (TA_IS_ZERO_SCALED).
_TA_EPSILON = 1e-14


def is_zero_scaled(value: float, a: float, b: float) -> bool:
    """TA-Lib's test "``value = a - b`` is zero" within 1e-14 of ``|a| + |b|`` (STOCH, WILLR and MFI use it)."""
    return abs(value) <= _TA_EPSILON * (abs(a) + abs(b))


def lagged_change(values: np.ndarray, n: int) -> np.ndarray:
    """``values[t] - values[t - n]``, NaN for the first ``n`` rows (or where either side is NaN)."""
    out = np.full(len(values), np.nan)
    if len(values) > n:
        out[n:] = values[n:] - values[:-n]
    return out


class TaRsi:
    """TA-Lib ``RSI``: Wilder's averages seeded with the plain mean of the first ``n`` changes.

    TA-Lib 0.8 divides by ``n`` as a multiplication by ``1 / n`` and returns 0 when both averages are 0
    (flat prices), not 50; this replica does the same, so it is bit-exact. First value at bar ``n``.
    """

    __slots__ = ("_count", "_gain", "_inv", "_loss", "_n", "_prev")

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ValueError(f"RSI period must be >= 2, got {n}")
        self._n = n
        self._inv = 1.0 / n
        self._count = -1
        self._prev = NAN
        self._gain = 0.0
        self._loss = 0.0

    def update(self, x: float) -> float:
        """Add the next close; the RSI (0..100), NaN for the first ``n`` bars."""
        delta = x - self._prev
        self._prev = x
        count = self._count
        n = self._n
        if count < n:
            self._count = count + 1
            if count < 0:
                return NAN
            if delta < 0.0:
                self._loss -= delta
            else:
                self._gain += delta
            if count + 1 < n:
                return NAN
            gain = self._gain * self._inv
            loss = self._loss * self._inv
        else:
            gain = self._gain * (n - 1)
            loss = self._loss * (n - 1)
            if delta < 0.0:
                loss -= delta
            else:
                gain += delta
            gain *= self._inv
            loss *= self._inv
        self._gain = gain
        self._loss = loss
        total = gain + loss
        return 100.0 * (gain / total) if total != 0.0 else 0.0


def check_macd_periods(fast: int, slow: int, signal: int) -> None:
    """Raise ``ValueError`` unless 1 < fast < slow and signal >= 1."""
    if not 1 < fast < slow or signal < 1:
        raise ValueError(f"MACD needs 1 < fast < slow and signal >= 1, got {fast}, {slow}, {signal}")


class TaMacd:
    """TA-Lib ``MACD``: (line, signal, histogram) of EMA(fast) - EMA(slow), signal = EMA(line).

    Unlike two plain EMAs, TA-Lib starts the fast EMA ``slow - fast`` bars late, so both are seeded with
    the mean of the ``fast``/``slow`` closes ending on bar ``slow - 1``; the signal EMA is seeded with the
    mean of the first ``signal`` lines. All three first appear on bar ``slow + signal - 2``.
    """

    __slots__ = ("_fast", "_signal", "_skip", "_slow")

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        check_macd_periods(fast, slow, signal)
        self._fast = Ema(fast)
        self._slow = Ema(slow)
        self._signal = Ema(signal)
        self._skip = slow - fast

    def update(self, x: float) -> tuple[float, float, float]:
        """Add the next close; (line, signal, histogram), NaNs while warming up."""
        slow = self._slow.update(x)
        if self._skip:
            self._skip -= 1
            return NAN3
        line = self._fast.update(x) - slow
        if isnan(line):
            return NAN3
        signal = self._signal.update(line)
        if isnan(signal):
            return NAN3
        return line, signal, line - signal
