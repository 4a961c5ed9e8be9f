"""Chart patterns built from confirmed swing points: head and shoulders, and triangles.

Each detector fires (1 or -1) on the single bar where its pattern completes and is 0 elsewhere.
The pattern predicates are written once, with numpy operations that work on arrays (batch) and on
scalars (streaming), so both paths make the same floating-point comparisons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from trading_agent.features.bars import Bar, Bars
from trading_agent.features.groups.patterns_swings import CONFIRMATION, SwingTracker, segment_minima, swing_points
from trading_agent.features.indicator import FixedIndicator, Streamer
from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = ["SwingPatterns", "SwingRules"]

_KINDS = ("asc", "desc", "sym")  # triangle kinds 1, 2, 3 (0: no triangle)


class _Ops(NamedTuple):
    """Elementwise min, max and abs: numpy's for arrays, the builtins (same values, faster) for scalars."""

    minimum: Callable[[Any, Any], Any]
    maximum: Callable[[Any, Any], Any]
    absolute: Callable[[Any], Any]


_ARRAYS = _Ops(np.minimum, np.maximum, np.abs)
_SCALARS = _Ops(min, max, abs)


@dataclass(frozen=True, slots=True)
class SwingRules:
    """The parameters and predicates of ``SwingPatterns`` (see there); plain data, so streamers pickle."""

    lookback: int = 60
    head_min: float = 0.1
    shoulder_tol: float = 0.25
    neck_tol: float = 0.25
    flat_tol: float = 0.1

    def __post_init__(self) -> None:
        if self.lookback < 10 or min(self.head_min, self.shoulder_tol, self.neck_tol, self.flat_tol) <= 0:
            raise ValueError("lookback must be >= 10 bars and every tolerance > 0")

    def is_head_shoulders(
        self, peaks: tuple[Any, Any, Any], troughs: tuple[Any, Any], span: Any, ops: _Ops = _ARRAYS
    ) -> Any:
        """The head-and-shoulders-top predicate on (H1, H2, H3), (N1, N2) and the bars spanned."""
        h1, h2, h3 = peaks
        n1, n2 = troughs
        height = h2 - ops.minimum(n1, n2)
        return (
            (span <= self.lookback)
            & (h2 - ops.maximum(h1, h3) >= self.head_min * height)
            & (ops.absolute(h1 - h3) <= self.shoulder_tol * height)
            & (ops.absolute(n1 - n2) <= self.neck_tol * height)
            & (ops.minimum(h1, h3) > ops.maximum(n1, n2))
        )

    def triangle_kind(self, highs: tuple[Any, Any], lows: tuple[Any, Any], ops: _Ops = _ARRAYS) -> Any:
        """0 none, 1 ascending, 2 descending, 3 symmetrical, from the last two swing highs and lows."""
        (ha, hb), (la, lb) = highs, lows
        band = self.flat_tol * (ops.maximum(ha, hb) - ops.minimum(la, lb))
        top, bottom = hb - ha, lb - la
        top_flat, top_falling = ops.absolute(top) <= band, top < -band
        bottom_flat, bottom_rising = ops.absolute(bottom) <= band, bottom > band
        return 1 * (top_flat & bottom_rising) + 2 * (top_falling & bottom_flat) + 3 * (top_falling & bottom_rising)


class SwingPatterns(FixedIndicator):
    """``chart_head_shoulders_<L>`` and ``chart_triangle_{asc,desc,sym}_<L>``, L = ``rules.lookback`` bars.

    Head and shoulders (top): three consecutive swing highs H1 < H2 > H3 at bars i1 < i2 < i3, with
    N1, N2 the lowest lows strictly between them and height h = H2 - min(N1, N2), such that
    H2 - max(H1, H3) >= ``head_min`` * h (the head stands out), |H1 - H3| <= ``shoulder_tol`` * h
    (level shoulders), |N1 - N2| <= ``neck_tol`` * h (a level neckline), min(H1, H3) > max(N1, N2),
    and the pattern spans at most L bars up to its completion. It completes when the right shoulder
    is confirmed (bar i3 + 2): -1 there. The inverse pattern is the mirror image on swing lows and
    gives +1 (both on one bar: 0).

    Triangles: at bar t, the last two confirmed swing highs (ia, Ha), (ib, Hb) and swing lows
    (ja, La), (jb, Lb), all within the last L bars (t - min(ia, ja) <= L), span a height
    h = max(Ha, Hb) - min(La, Lb); a side is flat if it changed by at most ``flat_tol`` * h, else
    rising or falling. Ascending: flat top, rising bottom; descending: falling top, flat bottom;
    symmetrical: falling top, rising bottom. The triangle completes on its breakout: the close
    crosses above the line through the two highs (close_t > U(t), close_t-1 <= U(t-1)) for +1, or
    below the line through the two lows for -1, while the lines have not crossed (U(t) > L(t)).
    Only the first breakout counts until a new swing point is confirmed.

    Warm-up: the first L bars are NaN (a pattern may have started before the data).
    """

    def __init__(self, rules: SwingRules | None = None) -> None:
        self.rules = rules = rules or SwingRules()
        lookback = rules.lookback
        super().__init__(
            (
                FeatureSpec(
                    f"chart_head_shoulders_{lookback}",
                    FeatureGroup.PATTERN,
                    lookback,
                    "head and shoulders completed on this bar (-1 top, +1 inverse)",
                    {
                        "lookback": lookback,
                        "head_min": rules.head_min,
                        "shoulder_tol": rules.shoulder_tol,
                        "neck_tol": rules.neck_tol,
                    },
                ),
                *(
                    FeatureSpec(
                        f"chart_triangle_{kind}_{lookback}",
                        FeatureGroup.PATTERN,
                        lookback,
                        f"breakout of a {kind} triangle on this bar (+1 up, -1 down)",
                        {"lookback": lookback, "flat_tol": rules.flat_tol},
                    )
                    for kind in _KINDS
                ),
            )
        )

    def batch(self, bars: Bars) -> tuple[np.ndarray, ...]:
        highs, lows = swing_points(bars.high), swing_points(-bars.low)
        head_shoulders = np.zeros(len(bars))
        head_shoulders[self._head_shoulders_bars(highs, bars.high, bars.low)] -= 1.0  # distinct bars
        head_shoulders[self._head_shoulders_bars(lows, -bars.low, -bars.high)] += 1.0
        columns = [head_shoulders, *self._triangles(bars, highs, lows)]
        for column in columns:
            column[: self.rules.lookback] = np.nan
        return tuple(columns)

    def _head_shoulders_bars(self, points: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """Completion bars of the tops in ``upper`` (pass negated lows and highs for the inverse)."""
        if len(points) < 3:
            return np.empty(0, dtype="int64")
        troughs = segment_minima(lower, points)
        i1, i3 = points[:-2], points[2:]
        completed = i3 + CONFIRMATION
        peaks = (upper[i1], upper[points[1:-1]], upper[i3])
        found = self.rules.is_head_shoulders(peaks, (troughs[:-1], troughs[1:]), completed - i1)
        bars: np.ndarray = completed[found]
        return bars

    def _triangles(self, bars: Bars, highs: np.ndarray, lows: np.ndarray) -> list[np.ndarray]:
        """Per stretch of bars between swing confirmations, the triangle of its four swing points, if any."""
        size = len(bars)
        columns = [np.zeros(size) for _ in _KINDS]
        new_high, new_low = np.zeros(size, dtype="int8"), np.zeros(size, dtype="int8")
        new_high[highs + CONFIRMATION] = new_low[lows + CONFIRMATION] = 1
        starts = np.flatnonzero(new_high | new_low)  # the swing points change here
        seen_highs, seen_lows = np.cumsum(new_high[starts]), np.cumsum(new_low[starts])
        ends = np.append(starts[1:], size)[: len(starts)]
        usable = (seen_highs >= 2) & (seen_lows >= 2)
        starts, ends, seen_highs, seen_lows = starts[usable], ends[usable], seen_highs[usable], seen_lows[usable]
        ia, ib, ja, jb = highs[seen_highs - 2], highs[seen_highs - 1], lows[seen_lows - 2], lows[seen_lows - 1]
        ha, hb, la, lb = bars.high[ia], bars.high[ib], bars.low[ja], bars.low[jb]
        kind = self.rules.triangle_kind((ha, hb), (la, lb))
        ends = np.minimum(ends, np.minimum(ia, ja) + self.rules.lookback + 1)  # t - min(ia, ja) <= L
        lengths = np.where(kind > 0, np.maximum(ends - starts, 0), 0)
        group = np.repeat(np.arange(len(starts)), lengths)  # one row per bar of a triangle stretch
        if group.size == 0:
            return columns
        x = starts[group] + np.arange(group.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        upper = (ha[group], hb[group], ia[group], ib[group])
        lower = (la[group], lb[group], ja[group], jb[group])
        signal = _breakout(bars.close[x], bars.close[x - 1], upper, lower, x)
        fired = np.flatnonzero(signal)
        first = fired[np.r_[True, group[fired[1:]] != group[fired[:-1]]]] if fired.size else fired
        for k, column in enumerate(columns, start=1):
            chosen = first[kind[group[first]] == k]
            column[x[chosen]] = signal[chosen]
        return columns

    def streamer(self) -> Streamer:
        return _SwingPatternStreamer(self.rules)


def _line(line: tuple[Any, Any, Any, Any], x: Any) -> Any:
    """The value at ``x`` of the line through (i_a, v_a) and (i_b, v_b), given as (v_a, v_b, i_a, i_b)."""
    va, vb, ia, ib = line
    return vb + (vb - va) / (ib - ia) * (x - ib)


def _breakout(close: Any, prev_close: Any, upper: tuple[Any, ...], lower: tuple[Any, ...], x: Any) -> Any:
    """+1 where the close crosses above the upper line, -1 below the lower one, 0 otherwise."""
    top, top_before = _line(upper, x), _line(upper, x - 1)
    bottom, bottom_before = _line(lower, x), _line(lower, x - 1)
    up = (close > top) & (prev_close <= top_before) & (top > bottom)
    down = (close < bottom) & (prev_close >= bottom_before) & (top > bottom)
    return 1.0 * up - 1.0 * down  # exclusive: a close above the upper line is above the lower one


class _SwingPatternStreamer(Streamer):
    __slots__ = ("_bottoms", "_count", "_fired", "_kind", "_prev_close", "_rules", "_tops")

    def __init__(self, rules: SwingRules) -> None:
        self._rules = rules
        self._tops = SwingTracker(keep=3)  # on (high, low)
        self._bottoms = SwingTracker(keep=3)  # on (-low, -high): a swing low is a peak of -low
        self._count = 0
        self._prev_close = NAN
        self._kind = 0
        self._fired = False

    def update(self, bar: Bar) -> tuple[float, ...]:
        t = self._count
        self._count += 1
        new_top = self._tops.update(bar.high, bar.low)
        new_bottom = self._bottoms.update(-bar.low, -bar.high)
        head_shoulders = 0.0
        if new_top:
            head_shoulders -= self._head_shoulders(self._tops, t)
        if new_bottom:
            head_shoulders += self._head_shoulders(self._bottoms, t)
        if new_top or new_bottom:
            self._fired = False
            self._kind = self._triangle_kind()
        triangles = [0.0, 0.0, 0.0]
        if self._kind and not self._fired:
            signal = self._breakout(bar.close, t)
            if signal:
                triangles[self._kind - 1] = signal
                self._fired = True
        self._prev_close = bar.close
        if t < self._rules.lookback:
            return NAN, NAN, NAN, NAN
        return head_shoulders, *triangles

    def _head_shoulders(self, tracker: SwingTracker, t: int) -> float:
        if len(tracker.points) < 3:
            return 0.0
        (i1, h1, _), (_, h2, n1), (_, h3, n2) = tracker.points
        return float(self._rules.is_head_shoulders((h1, h2, h3), (n1, n2), t - i1, _SCALARS))

    def _triangle_kind(self) -> int:
        highs, lows = self._tops.points, self._bottoms.points
        if len(highs) < 2 or len(lows) < 2:
            return 0
        return int(self._rules.triangle_kind((highs[-2][1], highs[-1][1]), (-lows[-2][1], -lows[-1][1]), _SCALARS))

    def _breakout(self, close: float, t: int) -> float:
        (ia, ha, _), (ib, hb, _) = self._tops.points[-2], self._tops.points[-1]
        (ja, la, _), (jb, lb, _) = self._bottoms.points[-2], self._bottoms.points[-1]
        if t - min(ia, ja) > self._rules.lookback:
            return 0.0
        return float(_breakout(close, self._prev_close, (ha, hb, ia, ib), (-la, -lb, ja, jb), t))
