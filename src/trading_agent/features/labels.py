"""Labels for supervised learning: triple barrier, forward-return direction, sample uniqueness.

Labels look forward by definition; what must never happen is a label that was decided on partial
information. Every label here is NaN until the whole window it depends on exists: recomputing on
truncated data gives either NaN or exactly the full-data label (tested). The volatility that scales
the barriers is known at the entry bar (causal).

Triple barrier (López de Prado, *Advances in Financial Machine Learning*, ch. 3): enter at the close
of bar t; the upper barrier is ``close[t] * (1 + profit_mult * vol[t])``, the lower
``close[t] * (1 - stop_mult * vol[t])`` with ``vol[t] = ATR[t] / close[t]``; the bars t+1 .. t+h are
scanned with their high and low. The first barrier touched gives +1 (upper) or -1 (lower). When a
bar touches both, the stop is assumed first (conservative: -1). If neither is touched within h
bars, the time barrier gives the sign of the return to close[t+h] (0 when it is within
``min_return``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import talib

from trading_agent.features.bars import Bars

__all__ = ["TripleBarrier", "forward_return_direction", "sample_uniqueness", "triple_barrier_labels"]


def forward_return_direction(bars: Bars, horizon: int, *, min_return: float = 0.0) -> np.ndarray:
    """+1 / -1 / 0: the sign of close[t+horizon] / close[t] - 1 (0 within ``min_return``); NaN for the last
    ``horizon`` bars, whose outcome is not known yet."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    out = np.full(len(bars), np.nan)
    if len(bars) > horizon:
        ret = bars.close[horizon:] / bars.close[:-horizon] - 1.0
        out[:-horizon] = np.where(ret > min_return, 1.0, np.where(ret < -min_return, -1.0, 0.0))
    return out


@dataclass(frozen=True, slots=True)
class TripleBarrier:
    """Triple-barrier labels: ``label`` (+1/-1/0, NaN unknown), ``end`` (index of the bar that decided it,
    -1 unknown) and ``ret`` (the return from entry to the decision, at the barrier price)."""

    label: np.ndarray
    end: np.ndarray
    ret: np.ndarray

    def frame(self, index: pd.Index) -> pd.DataFrame:
        """The labels as a frame on ``index``."""
        return pd.DataFrame({"label": self.label, "end": self.end, "ret": self.ret}, index=index)


def triple_barrier_labels(
    bars: Bars,
    *,
    horizon: int = 24,
    profit_mult: float = 2.0,
    stop_mult: float = 2.0,
    atr_period: int = 14,
    min_return: float = 0.0,
) -> TripleBarrier:
    """Triple-barrier labels for every bar (see the module docstring); vectorised over the horizon."""
    if horizon < 1 or profit_mult <= 0 or stop_mult <= 0:
        raise ValueError("horizon must be >= 1 and the barrier multipliers positive")
    n = len(bars)
    close, high, low = bars.close, bars.high, bars.low
    vol = talib.ATR(high, low, close, atr_period) / close if n > atr_period else np.full(n, np.nan)
    upper = close * (1.0 + profit_mult * vol)
    lower = close * (1.0 - stop_mult * vol)
    label = np.full(n, np.nan)
    end = np.full(n, -1, dtype="int64")
    ret = np.full(n, np.nan)
    open_ = np.isfinite(vol)
    for step in range(1, horizon + 1):
        entries = np.flatnonzero(open_[: n - step]) if n > step else np.empty(0, dtype="int64")
        if entries.size == 0:
            break
        later = entries + step
        hit_low = low[later] <= lower[entries]
        hit_high = high[later] >= upper[entries]
        for hit, sign, level in ((hit_low, -1.0, lower), (hit_high & ~hit_low, 1.0, upper)):
            done = entries[hit]
            label[done] = sign
            end[done] = done + step
            ret[done] = level[done] / close[done] - 1.0
            open_[done] = False
        if step == horizon:
            timed = entries[~(hit_low | hit_high)]
            final = close[timed + horizon] / close[timed] - 1.0
            label[timed] = np.where(final > min_return, 1.0, np.where(final < -min_return, -1.0, 0.0))
            end[timed] = timed + horizon
            ret[timed] = final
    return TripleBarrier(label, end, ret)


def sample_uniqueness(start: np.ndarray, end: np.ndarray, n: int) -> np.ndarray:
    """Average uniqueness of each label (López de Prado 4.4): the mean over the bars it spans of
    1 / (number of labels spanning that bar). ``start``/``end`` are inclusive bar indices; labels with
    ``end < 0`` (unknown) get NaN and do not count."""
    start = np.asarray(start, dtype="int64")
    end = np.asarray(end, dtype="int64")
    known = end >= 0
    concurrency = np.zeros(n + 1, dtype="int64")
    np.add.at(concurrency, start[known], 1)
    np.add.at(concurrency, end[known] + 1, -1)
    concurrency = np.cumsum(concurrency)[:n]
    inverse = np.where(concurrency > 0, 1.0 / np.maximum(concurrency, 1), 0.0)
    cumulative = np.concatenate(([0.0], np.cumsum(inverse)))
    weights = np.full(len(start), np.nan)
    s, e = start[known], end[known]
    weights[known] = (cumulative[e + 1] - cumulative[s]) / (e - s + 1)
    return weights
