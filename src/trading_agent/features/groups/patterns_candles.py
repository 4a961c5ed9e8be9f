"""Every TA-Lib candlestick pattern, one feature each, from TA-Lib in both paths.

The batch path calls the Function API (``talib.CDLDOJI(open, high, low, close)``). The streaming
path keeps one TA-Lib Streaming-API handle per pattern (``talib.stream.CDLDOJI``), opened on the
first ``lookback + 1`` bars and then fed one bar at a time: TA-Lib guarantees each value equals
the Function API's for that bar, and an update is O(1) (its candle averages are running sums).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import talib
from talib import abstract, stream

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["CANDLESTICK_FUNCTIONS", "CandlestickPatterns"]

CANDLESTICK_FUNCTIONS: tuple[str, ...] = tuple(talib.get_function_groups()["Pattern Recognition"])  # type: ignore[no-untyped-call]


def _info(name: str) -> Any:
    """TA-Lib's description of function ``name`` (its lookback and display name)."""
    return abstract.Function(name)  # type: ignore[attr-defined]


class CandlestickPatterns(FixedIndicator):
    """``cdl_<pattern>`` for each TA-Lib pattern function (``CDLDOJI`` -> ``cdl_doji``): TA-Lib's value / 100.

    1 bullish, -1 bearish, 0 no pattern; TA-Lib also answers +-0.8 (engulfing and harami families:
    a weaker form) and +-2 (hikkake: the pattern confirmed). TA-Lib's default parameters
    (penetration) and candle settings apply. NaN for the first ``lookback`` bars of each pattern.
    """

    def __init__(self, functions: tuple[str, ...] = CANDLESTICK_FUNCTIONS) -> None:
        unknown = sorted(set(functions) - set(CANDLESTICK_FUNCTIONS))
        if unknown:
            raise ValueError(f"not TA-Lib candlestick functions: {', '.join(unknown)}")
        self.functions = functions
        self.lookbacks = tuple(int(_info(name).lookback) for name in functions)
        super().__init__(
            [
                FeatureSpec(
                    f"cdl_{name.removeprefix('CDL').lower()}",
                    FeatureGroup.PATTERN,
                    lookback,
                    f"TA-Lib {_info(name).info['display_name']} candlestick pattern (1 bullish, -1 bearish, 0 none)",
                    {"function": name},
                )
                for name, lookback in zip(functions, self.lookbacks, strict=True)
            ]
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        columns = []
        for name, lookback in zip(self.functions, self.lookbacks, strict=True):
            column = getattr(talib, name)(bars.open, bars.high, bars.low, bars.close) / 100.0
            column[:lookback] = np.nan
            columns.append(column)
        return tuple(columns)

    def streamer(self) -> Streamer:
        return _CandleStreamer(self.functions, self.lookbacks)


class _CandleStreamer(Streamer):
    """One TA-Lib stream handle per pattern, over one shared ring of the last bars.

    A handle lives in the C library and cannot be pickled; the saved state is the ring and the bar
    count, and restoring re-opens each handle on the ring (the last bars are all its state needs).
    """

    __slots__ = ("_count", "_functions", "_handles", "_lookbacks", "_ring", "_updates")

    def __init__(self, functions: tuple[str, ...], lookbacks: tuple[int, ...]) -> None:
        self._functions = functions
        self._lookbacks = lookbacks
        self._ring: deque[tuple[float, float, float, float]] = deque(maxlen=max(lookbacks, default=0) + 1)
        self._count = 0
        self._handles: list[Any] = [None] * len(functions)
        self._updates: list[Any] = []  # the handles' update methods, once all are open

    def update(self, bar: Bar) -> tuple[float, ...]:
        o, h, l, c = bar.open, bar.high, bar.low, bar.close  # noqa: E741
        self._ring.append((o, h, l, c))
        self._count += 1
        if self._updates:
            return tuple([update(o, h, l, c) / 100 for update in self._updates])
        values = []
        for i, handle in enumerate(self._handles):
            if handle is not None:
                values.append(handle.update(o, h, l, c) / 100)
            elif self._count > self._lookbacks[i]:
                self._handles[i] = self._open(i)
                values.append(self._handles[i].value / 100)
            else:
                values.append(NAN)
        if all(handle is not None for handle in self._handles):
            self._updates = [handle.update for handle in self._handles]
        return tuple(values)

    def _open(self, i: int) -> Any:
        columns = np.array(self._ring, dtype="float64").T
        return getattr(stream, self._functions[i])(*(np.ascontiguousarray(column) for column in columns))

    def __getstate__(self) -> dict[str, Any]:
        return {
            "functions": self._functions,
            "lookbacks": self._lookbacks,
            "ring": list(self._ring),
            "count": self._count,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._functions, self._lookbacks, self._count = state["functions"], state["lookbacks"], state["count"]
        self._ring = deque(state["ring"], maxlen=max(self._lookbacks, default=0) + 1)
        self._handles = [
            self._open(i) if self._count > lookback else None for i, lookback in enumerate(self._lookbacks)
        ]
        self._updates = [h.update for h in self._handles] if all(h is not None for h in self._handles) else []
