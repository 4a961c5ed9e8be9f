"""Model status: the registry's versions, the running source, its recent accuracy and drift.

Accuracy is scored from the journal: each long or short signal of the session is a hit when the
close ``horizon`` candles later (the training label's horizon, 24 by default) moved its way. Only
signals whose outcome is in the agent's candle window count; the newest ``horizon`` candles' signals
are not scored yet. Drift is ``training.drift.PerformanceTracker`` over those outcomes in order:
the last 100 against the last 1,000, drifting when the short window is 5 points worse.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from trading_agent.features import Bars
from trading_agent.services.journal_queries import SignalRecord
from trading_agent.services.models import ModelVersionSummary
from trading_agent.training.drift import PerformanceTracker

__all__ = ["AccuracyView", "ModelStatus", "recent_accuracy"]

_DIRECTIONS = {"long": 1, "short": -1}


class AccuracyView(BaseModel):
    """How often the session's recent signals were right, and whether that is drifting down."""

    horizon: int
    scored: int
    hits: int
    accuracy: float | None
    short_accuracy: float | None
    long_accuracy: float | None
    drift_threshold: float
    drifting: bool


class ModelStatus(BaseModel):
    """The running source, the registry's versions (None when it cannot be read), the recent accuracy."""

    source: str | None
    registry: list[ModelVersionSummary] | None
    registry_error: str | None
    accuracy: AccuracyView | None


def recent_accuracy(signals: Sequence[SignalRecord], bars: Bars, horizon: int) -> AccuracyView:
    """Score ``signals`` (any order) against the closes of ``bars`` ``horizon`` candles later."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 candle, got {horizon}")
    tracker = PerformanceTracker()
    position = {int(ts): i for i, ts in enumerate(bars.ts)}
    hits = scored = 0
    for signal in sorted(signals, key=lambda s: s.ts):
        wanted = _DIRECTIONS.get(signal.direction)
        i = position.get(signal.ts)
        if wanted is None or i is None or i + horizon >= len(bars):
            continue
        moved = int(np.sign(bars.close[i + horizon] - bars.close[i]))
        tracker.update(wanted, moved, signal.ts, signal.symbol)
        scored += 1
        hits += int(moved == wanted)
    return AccuracyView(
        horizon=horizon,
        scored=scored,
        hits=hits,
        accuracy=hits / scored if scored else None,
        short_accuracy=tracker.short_accuracy,
        long_accuracy=tracker.long_accuracy,
        drift_threshold=tracker.threshold,
        drifting=tracker.drifting,
    )
