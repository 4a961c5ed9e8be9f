"""The training set: feature rows, triple-barrier targets, label times and sample weights.

One row per candle whose features are all known (past the warm-up) and whose label is decided
(not the last ``horizon`` candles). The target is binary, ``1`` when the triple barrier says "up"
(the profit barrier, or a positive time-barrier return) and ``0`` otherwise, because the signal
asks one question: the probability that the price goes up. ``label_end_ms`` is the close time of
the candle that decided each label: the purged splits drop every training row whose label is
still open when a later window starts. ``weight`` is the label's average uniqueness (López de
Prado 4.4), so overlapping labels do not count many times. ``ret`` is the return from the entry
close to the barrier, what a trade on the signal would have made before costs.

Features are float32 (half the memory of float64; the tree libraries train in float32 anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading_agent.domain import Timeframe
from trading_agent.features import Bars, compute_features
from trading_agent.features.labels import sample_uniqueness, triple_barrier_labels
from trading_agent.training.splits import label_end_times

__all__ = ["BarrierConfig", "TrainingSet", "build_training_set"]


@dataclass(frozen=True, slots=True)
class BarrierConfig:
    """The triple barrier of the labels (see ``features.labels``)."""

    horizon: int = 24
    profit_mult: float = 2.0
    stop_mult: float = 2.0
    atr_period: int = 14
    min_return: float = 0.0


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Aligned arrays, one entry per usable candle, oldest first."""

    X: np.ndarray
    y: np.ndarray
    open_ms: np.ndarray
    label_end_ms: np.ndarray
    weight: np.ndarray
    ret: np.ndarray
    feature_names: tuple[str, ...]
    timeframe: Timeframe

    def __len__(self) -> int:
        return len(self.y)

    def rows(self, index: np.ndarray) -> TrainingSet:
        """The subset at integer positions ``index``."""
        return TrainingSet(
            self.X[index],
            self.y[index],
            self.open_ms[index],
            self.label_end_ms[index],
            self.weight[index],
            self.ret[index],
            self.feature_names,
            self.timeframe,
        )


def build_training_set(
    candles: pd.DataFrame,
    timeframe: Timeframe,
    *,
    feature_set: str = "default",
    higher_timeframes: Sequence[Timeframe] = (),
    barrier: BarrierConfig | None = None,
    sentiment: pd.DataFrame | None = None,
    sentiment_windows: Sequence[int] = (24, 168),
) -> TrainingSet:
    """Features and labels of ``candles`` (a candle frame of ``timeframe``), with the ``sentiment`` scores'
    features when given; raises ``ValueError`` when no row has both all its features and a decided
    label (too few candles for the warm-up)."""
    barrier = barrier or BarrierConfig()
    features = compute_features(
        candles, feature_set, higher_timeframes, timeframe, sentiment=sentiment, sentiment_windows=sentiment_windows
    )
    bars = Bars.from_frame(candles)
    labels = triple_barrier_labels(
        bars,
        horizon=barrier.horizon,
        profit_mult=barrier.profit_mult,
        stop_mult=barrier.stop_mult,
        atr_period=barrier.atr_period,
        min_return=barrier.min_return,
    )
    X = features.to_numpy(dtype=np.float32)
    usable = np.all(np.isfinite(X), axis=1) & (labels.end >= 0)
    if not usable.any():
        raise ValueError(
            f"no usable rows in {len(candles)} candles: the features' warm-up and the {barrier.horizon}-candle "
            "label horizon leave nothing; load a longer range"
        )
    start = np.arange(len(bars))
    weight = sample_uniqueness(start[usable], labels.end[usable], len(bars))
    return TrainingSet(
        X=np.ascontiguousarray(X[usable]),
        y=(labels.label[usable] > 0).astype(np.int64),
        open_ms=bars.ts[usable].astype(np.int64),
        label_end_ms=label_end_times(bars.ts, labels.end[usable], timeframe.ms),
        weight=weight,
        ret=labels.ret[usable],
        feature_names=tuple(features.columns),
        timeframe=timeframe,
    )
