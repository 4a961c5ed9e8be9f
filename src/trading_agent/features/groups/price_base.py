"""Shapes shared by the price and volatility indicators.

``CloseFilter`` is the common one-output case "a moving average of the close" (TA-Lib in batch, an
O(1) filter when streaming); ``pct_distances`` measures the close against price levels the same way
in both paths (it takes floats or arrays, so the two paths share one formula and its rounding).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from trading_agent.features.bars import Bars
from trading_agent.features.indicator import CloseStreamer, FixedIndicator, ScalarFilter, Streamer
from trading_agent.features.spec import FeatureSpec

__all__ = ["CloseFilter", "Values", "pct_distances"]

Values = TypeVar("Values", float, npt.NDArray[np.float64])  # one formula for both paths: floats or arrays


class CloseFilter(FixedIndicator):
    """One feature that filters the close.

    ``reference(close)`` computes the whole column (the batch path); each streamer feeds the
    closes to a fresh ``make_filter()``, which must give the same values.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        reference: Callable[[np.ndarray], np.ndarray],
        make_filter: Callable[[], ScalarFilter],
    ) -> None:
        super().__init__((spec,))
        self._reference = reference
        self._make_filter = make_filter

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        return (np.asarray(self._reference(bars.close), dtype=np.float64),)

    def streamer(self) -> Streamer:
        return CloseStreamer(self._make_filter())


def pct_distances(close: Values, levels: Iterable[Values]) -> tuple[Values, ...]:
    """``100 * (close - level) / close`` for each level: + when the close is above it, in % of the close.

    Computed as ``(close - level) * (100 / close)``, on floats (streaming) or arrays (batch) with the
    same rounding. Prices must be positive.
    """
    scale = 100.0 / close
    return tuple((close - level) * scale for level in levels)
