"""Candles as the feature code sees them: arrays for the batch path, one tuple per bar for streaming."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from trading_agent.domain import Candle

__all__ = ["Bar", "Bars", "FeatureInputError"]

_COLUMNS = ("open", "high", "low", "close", "volume")


class FeatureInputError(ValueError):
    """Candles that features cannot be computed on; the message says what is wrong and where."""


class Bar(NamedTuple):
    """One closed candle: open time (epoch ms UTC) and OHLCV."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    @classmethod
    def of(cls, candle: Candle) -> Bar:
        """The bar of a domain candle."""
        return cls(candle.ts, candle.open, candle.high, candle.low, candle.close, candle.volume)


@dataclass(frozen=True, slots=True)
class Bars:
    """Aligned float64 arrays (``ts`` int64 epoch ms) of consecutive closed candles, oldest first."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Bars:
        """Validate a candle frame (UTC time index, strictly increasing, OHLCV finite) and take its arrays."""
        if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.tz is None:
            raise FeatureInputError("candles need a UTC DatetimeIndex of open times")
        missing = [c for c in _COLUMNS if c not in frame.columns]
        if missing:
            raise FeatureInputError(f"candles lack column(s) {', '.join(missing)}")
        ts = np.asarray(frame.index.tz_convert("UTC").as_unit("ms").asi8, dtype="int64")
        steps = np.diff(ts)
        if (steps <= 0).any():
            at = frame.index[int(np.argmax(steps <= 0)) + 1]
            raise FeatureInputError(f"candle times must be strictly increasing (sort and de-duplicate): see {at}")
        arrays = [frame[c].to_numpy(dtype="float64") for c in _COLUMNS]
        for name, values in zip(_COLUMNS, arrays, strict=True):
            bad = ~np.isfinite(values)
            if bad.any():
                raise FeatureInputError(f"candle at {frame.index[int(np.argmax(bad))]} has a non-finite {name}")
            bad = values < 0 if name == "volume" else values <= 0
            if bad.any():
                what = "a negative volume" if name == "volume" else f"a non-positive {name}"
                raise FeatureInputError(f"candle at {frame.index[int(np.argmax(bad))]} has {what}")
        return cls(ts, *arrays)

    def bar(self, i: int) -> Bar:
        """Bar ``i`` as a tuple of Python scalars."""
        return Bar(
            int(self.ts[i]),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            float(self.volume[i]),
        )

    def __len__(self) -> int:
        return len(self.ts)

    def window(self, start: int, stop: int | None = None) -> Bars:
        """The bars ``[start, stop)`` (a walk-forward window, say)."""
        part = slice(start, stop)
        return Bars(
            self.ts[part], self.open[part], self.high[part], self.low[part], self.close[part], self.volume[part]
        )

    def head(self, n: int) -> Bars:
        """The first ``n`` bars (for truncation tests and warm-up)."""
        return Bars(self.ts[:n], self.open[:n], self.high[:n], self.low[:n], self.close[:n], self.volume[:n])
