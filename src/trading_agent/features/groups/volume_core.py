"""Volume-weighted window totals shared by the volume indicators, in both paths.

``VolumeWindow`` keeps, over the last ``n`` bars, the sum of a volume-weighted quantity ``x * v``, the
sum of the volume and the number of bars whose volume is not zero, summed in TA-Lib ``SUM``'s order
(add the new bar, read, drop the oldest) so the batch path (``talib.SUM``) gives the same bits. The
count makes "the window has no volume" an exact test: running sums keep rounding residue after
non-zero volumes leave the window, so "sum == 0" would not be.
"""

from __future__ import annotations

from collections import deque
from math import isnan

import numpy as np
import talib

from trading_agent.features.rolling import NAN

__all__ = ["VolumeWindow", "weighted_mean", "weighted_mean_array", "window_totals_array"]


class VolumeWindow:
    """Running (sum of ``x * v``, sum of ``v``, bars with ``v != 0``) over the last ``n`` bars."""

    __slots__ = ("_active", "_n", "_volume", "_weighted", "_window")

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ValueError(f"window must be >= 2, got {n}")
        self._n = n
        self._weighted = 0.0
        self._volume = 0.0
        self._active = 0
        self._window: deque[tuple[float, float]] = deque()

    def update(self, weighted: float, volume: float) -> tuple[float, float, int]:
        """Add one bar's ``x * v`` and ``v``; the totals of the last ``n`` bars (NaNs and 0 before ``n``)."""
        self._weighted += weighted
        self._volume += volume
        active = self._active + (volume != 0.0)
        window = self._window
        window.append((weighted, volume))
        if len(window) < self._n:
            self._active = active
            return NAN, NAN, 0
        totals = (self._weighted, self._volume, active)
        old_weighted, old_volume = window.popleft()
        self._weighted -= old_weighted
        self._volume -= old_volume
        self._active = active - (old_volume != 0.0)
        return totals


def weighted_mean(weighted: float, volume: float, active: int, empty: float) -> float:
    """Sum of ``x * v`` / sum of ``v``; ``empty`` when no bar of the window has volume (NaN stays NaN)."""
    if isnan(weighted):
        return NAN
    return weighted / volume if active and volume != 0.0 else empty


def window_totals_array(weighted: np.ndarray, volume: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """``VolumeWindow`` over whole columns; a bar whose ``weighted`` is NaN (leading only) is not summed."""
    volume = np.where(np.isnan(weighted), np.nan, volume)
    active = np.where(np.isnan(volume), np.nan, (volume != 0.0).astype("float64"))
    return talib.SUM(weighted, n), talib.SUM(volume, n), talib.SUM(active, n)


def weighted_mean_array(weighted: np.ndarray, volume: np.ndarray, n: int, empty: float) -> np.ndarray:
    """``weighted_mean`` of ``VolumeWindow(n)`` over whole columns."""
    total_weighted, total_volume, active = window_totals_array(weighted, volume, n)
    out = np.where(np.isnan(total_weighted), np.nan, empty)
    np.divide(total_weighted, total_volume, out=out, where=(active > 0) & (total_volume != 0.0))
    return out
