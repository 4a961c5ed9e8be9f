"""Confirmed swing points, the building block of the chart-pattern detectors.

A swing high is a 5-bar fractal peak: bar i's high is above the highs of the two bars before it
and not below the highs of the two bars after it (so of two equal adjacent peaks the first
counts). It is known only at bar i + 2, its confirmation bar; nothing here uses a later bar.
Swing lows are swing highs of the negated lows, which is how both are computed: mirroring keeps
every comparison exact, and one code path serves tops and bottoms.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

__all__ = ["CONFIRMATION", "SwingTracker", "segment_minima", "swing_points"]

CONFIRMATION = 2  # bars after a swing point until it is confirmed


def swing_points(upper: np.ndarray) -> np.ndarray:
    """Indices of the 5-bar fractal peaks of ``upper``, ascending (at most n - 3)."""
    if len(upper) < 5:
        return np.empty(0, dtype="int64")
    centre = upper[2:-2]
    peak = (centre > upper[1:-3]) & (centre > upper[:-4]) & (centre >= upper[3:-1]) & (centre >= upper[4:])
    return np.flatnonzero(peak) + 2


def segment_minima(lower: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The minimum of ``lower`` strictly between each two consecutive ``points`` (len(points) - 1 values)."""
    if len(points) < 2:
        return np.empty(0)
    bounds = np.empty(2 * (len(points) - 1), dtype="int64")
    bounds[0::2] = points[:-1] + 1  # consecutive swing points are >= 3 bars apart: never empty
    bounds[1::2] = points[1:]
    return np.minimum.reduceat(lower, bounds)[0::2]


class SwingTracker:
    """Streaming ``swing_points`` of an upper series, with ``segment_minima`` of a lower one.

    ``points`` holds the last ``keep`` confirmed swing points as (index, value, minimum of the
    lower series since the previous swing point); the first one's minimum is not meaningful.
    """

    __slots__ = ("_count", "_lower", "_segment", "_upper", "points")

    def __init__(self, keep: int) -> None:
        self._upper: deque[float] = deque(maxlen=5)
        self._lower: deque[float] = deque(maxlen=5)
        self._segment = math.inf
        self._count = 0
        self.points: deque[tuple[int, float, float]] = deque(maxlen=keep)

    def update(self, upper: float, lower: float) -> bool:
        """Add a bar; whether it confirms a swing point (the bar two back)."""
        window = self._upper
        window.append(upper)
        self._lower.append(lower)
        self._count += 1
        if len(window) < 5:
            return False
        centre = window[2]
        if centre > window[1] and centre > window[0] and centre >= window[3] and centre >= window[4]:
            self.points.append((self._count - 1 - CONFIRMATION, centre, self._segment))
            self._segment = math.inf
            return True
        self._segment = min(self._segment, self._lower[2])
        return False
