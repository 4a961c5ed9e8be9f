"""The contract every feature family implements: one batch path, one streaming path, same numbers.

An ``Indicator`` produces one or more features (MACD: line, signal, histogram). ``batch`` computes
them over whole arrays (TA-Lib where it has the indicator, numpy otherwise); ``streamer`` returns
a fresh ``Streamer`` whose ``update`` takes one closed bar and returns the same values for it in
O(1) (bounded work per bar, whatever the history length). Both paths give NaN during warm-up and
must agree to 1e-9 relative afterwards; ``tests/unit/features/test_contract.py`` checks every
registered indicator on real candles, and checks that values at bar t never change when later
bars are added (no look-ahead).

Streamers are plain objects with picklable state, so the engine can save and restore them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.spec import FeatureSpec

__all__ = ["CloseStreamer", "FixedIndicator", "Indicator", "ScalarFilter", "Streamer"]


class Streamer(ABC):
    """Per-bar state of one indicator."""

    __slots__ = ()

    @abstractmethod
    def update(self, bar: Bar) -> tuple[float, ...]:
        """Consume the next closed bar; return one value per spec (NaN while warming up)."""


class Indicator(ABC):
    """A family of features computed together."""

    @property
    @abstractmethod
    def specs(self) -> tuple[FeatureSpec, ...]:
        """The features this indicator outputs, in output order."""

    @abstractmethod
    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        """One float64 array of ``len(bars)`` per spec."""

    @abstractmethod
    def streamer(self) -> Streamer:
        """A fresh streaming state."""


class FixedIndicator(Indicator, ABC):
    """An indicator whose features are given when it is built."""

    def __init__(self, specs: Sequence[FeatureSpec]) -> None:
        if not specs:
            raise ValueError("an indicator needs at least one feature")
        self._specs = tuple(specs)

    @property
    def specs(self) -> tuple[FeatureSpec, ...]:
        return self._specs


class ScalarFilter(Protocol):
    """O(1) state turning one value per bar into one value (NaN while warming up)."""

    def update(self, x: float) -> float: ...


class CloseStreamer(Streamer):
    """Streams the close of each bar through one ``ScalarFilter``."""

    __slots__ = ("_filter",)

    def __init__(self, state: ScalarFilter) -> None:
        self._filter = state

    def update(self, bar: Bar) -> tuple[float, ...]:
        return (self._filter.update(bar.close),)
