"""Bull and bear flags: a sharp move (the pole), a shallow pause (the flag), a breakout."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice

import numpy as np
import talib
from numpy.lib.stride_tricks import sliding_window_view

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["FlagRules", "Flags"]


@dataclass(frozen=True, slots=True)
class FlagRules:
    """The parameters of ``Flags`` (see there); plain data, so streamers pickle."""

    max_flag_bars: int = 20
    min_flag_bars: int = 3
    max_pole_bars: int = 15
    max_retrace: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.min_flag_bars <= self.max_flag_bars or self.max_pole_bars < 1 or not 0 < self.max_retrace < 1:
            raise ValueError("need 1 <= min_flag_bars <= max_flag_bars, max_pole_bars >= 1, 0 < max_retrace < 1")

    @property
    def warmup(self) -> int:
        """Bars before the first value: the flag and pole windows must lie inside the data."""
        return self.max_flag_bars + self.max_pole_bars + 1

    def flag_floor(self, top: np.ndarray | float, base: np.ndarray | float) -> np.ndarray | float:
        """The lowest low a bull flag may reach: its top less ``max_retrace`` of the pole."""
        return top - self.max_retrace * (top - base)


class Flags(FixedIndicator):
    """``chart_flag_<M>``: +1 on the breakout bar of a bull flag, -1 of a bear flag, else 0.

    Bull flag completing at bar t, with M = ``max_flag_bars``, P = ``max_pole_bars``:
    * the flag top is the highest high H of bars t-1-M .. t-1, at bar p (the latest, on ties);
    * the flag is bars p+1 .. t-1, at least ``min_flag_bars`` of them;
    * the pole rises to H from B, the lowest low of bars p-P .. p;
    * the flag retraces at most ``max_retrace`` of the pole: its lowest low >= H - max_retrace * (H - B);
    * the breakout: close_t > H (the first close above the flag, whose highs are all <= H).
    A bear flag is the mirror image (lowest low, pole down from the highest high, close below).
    Warm-up: M + P + 1 bars, so that the windows lie inside the data.
    """

    def __init__(self, rules: FlagRules | None = None) -> None:
        self.rules = rules = rules or FlagRules()
        super().__init__(
            [
                FeatureSpec(
                    f"chart_flag_{rules.max_flag_bars}",
                    FeatureGroup.PATTERN,
                    rules.warmup,
                    "breakout of a bull (+1) or bear (-1) flag on this bar",
                    {
                        "max_flag_bars": rules.max_flag_bars,
                        "min_flag_bars": rules.min_flag_bars,
                        "max_pole_bars": rules.max_pole_bars,
                        "max_retrace": rules.max_retrace,
                    },
                )
            ]
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        flags = np.zeros(len(bars))
        flags[self._bull_breakouts(bars.high, bars.low, bars.close)] += 1.0
        flags[self._bull_breakouts(-bars.low, -bars.high, -bars.close)] -= 1.0  # a bear flag, mirrored
        flags[: self.rules.warmup] = np.nan
        return (flags,)

    def _bull_breakouts(self, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
        rules = self.rules
        span = rules.max_flag_bars + 1
        if len(high) <= rules.warmup:
            return np.empty(0, dtype="int64")
        top = talib.MAX(high, span)  # top[t - 1]: the highest high of bars t-1-M .. t-1
        recent = talib.MAX(high, rules.min_flag_bars)  # recent[t - 1]: of bars t-m .. t-1
        # a close above the top, with the top's latest bar before the last min_flag_bars bars
        t = np.flatnonzero((close[1:] > top[:-1]) & (recent[:-1] < top[:-1])) + 1
        t = t[t >= rules.warmup]
        highs = sliding_window_view(high, span)[t - span]  # row: bars t-1-M .. t-1
        lows = sliding_window_view(low, span)[t - span]
        flag_top = top[t - 1]
        offset = span - 1 - np.argmax(highs[:, ::-1] == flag_top[:, None], axis=1)  # latest bar at the top
        p = t - span + offset
        pole_base = talib.MIN(low, rules.max_pole_bars + 1)[p]
        in_flag = np.arange(span)[None, :] > offset[:, None]
        flag_low = np.where(in_flag, lows, np.inf).min(axis=1)
        breakouts: np.ndarray = t[flag_low >= rules.flag_floor(flag_top, pole_base)]
        return breakouts

    def streamer(self) -> Streamer:
        return _FlagStreamer(self.rules)


class _FlagStreamer(Streamer):
    """The last M + P + 1 bars before the current one; the full test runs only when the close breaks out."""

    __slots__ = ("_highs", "_lows", "_rules")

    def __init__(self, rules: FlagRules) -> None:
        self._rules = rules
        self._highs: deque[float] = deque(maxlen=rules.warmup)
        self._lows: deque[float] = deque(maxlen=rules.warmup)

    def update(self, bar: Bar) -> tuple[float, ...]:
        highs, lows = self._highs, self._lows
        value = NAN
        if len(highs) == highs.maxlen:
            value = 0.0
            pole_bars = self._rules.max_pole_bars
            if bar.close > max(islice(highs, pole_bars, None)):
                value += self._bull(list(highs), list(lows), bar.close)
            elif bar.close < min(islice(lows, pole_bars, None)):
                value -= self._bull([-low for low in lows], [-high for high in highs], -bar.close)
        highs.append(bar.high)
        lows.append(bar.low)
        return (value,)

    def _bull(self, highs: list[float], lows: list[float], close: float) -> float:
        """1.0 if a bull flag breaks out at ``close`` over the bars before it (oldest first), else 0.0."""
        rules = self._rules
        pole_bars = rules.max_pole_bars
        window = highs[pole_bars:]
        top = max(window)
        p = pole_bars + len(window) - 1 - window[::-1].index(top)  # index in highs of the latest top
        if len(highs) - 1 - p < rules.min_flag_bars:
            return 0.0
        base = min(lows[p - pole_bars : p + 1])
        flag_low = min(lows[p + 1 :])
        return 1.0 if flag_low >= rules.flag_floor(top, base) else 0.0
