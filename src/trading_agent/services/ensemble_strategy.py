"""A registered ensemble as a backtest strategy (``backtest --strategy ensemble``).

The bundle's own feature set and higher timeframes are computed over the candles of the backtest,
the ensemble (ONNX Runtime) predicts every candle whose features are all known, and the signal
mapping of the trading rules turns each prediction into an entry, acted on at the next open like
every strategy. The realised triple-barrier outcomes of the bundle's own barrier score the
predictions (the classification metrics of the report). Candles inside the window the model was
trained on are counted and reported: a backtest over them is in sample, and says so. A bundle with
an anomaly detector scores the same rows, and the event engine's anomaly filter acts on them. A
model trained with headline sentiment gets its ``sent_*`` features from the same headlines file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trading_agent.backtest.metrics_classification import ClassificationMetrics, classification_metrics
from trading_agent.backtest.strategies import AnomalyScores, Strategy, replay_strategy
from trading_agent.domain import SeriesKey, Timeframe
from trading_agent.features import Bars, compute_features
from trading_agent.features.labels import triple_barrier_labels
from trading_agent.models.bundle import load_anomaly, load_ensemble, read_bundle_info
from trading_agent.models.signals import SignalThresholds, signal_directions
from trading_agent.services.errors import ServiceError
from trading_agent.services.sentiment import headline_scores
from trading_agent.training.dataset import BarrierConfig

__all__ = ["EnsembleStrategy", "ensemble_strategy", "model_name"]


def model_name(series: SeriesKey) -> str:
    """The registered model name of a series, e.g. ``binance-BTCUSDT-1h``."""
    return f"{series.instrument.venue}-{series.instrument.symbol}-{series.timeframe.value}"


@dataclass(frozen=True, slots=True)
class EnsembleStrategy:
    """The strategy, which model it trades, and how many of its candles were inside the model's training window."""

    strategy: Strategy
    model: str
    predicted_candles: int
    in_sample_candles: int
    classification: ClassificationMetrics | None
    anomalous_candles: int | None = None
    oos_sharpe: float | None = None

    def summary(self) -> dict[str, Any]:
        """What the backtest report says about the model."""
        return {
            "model": self.model,
            "predicted_candles": self.predicted_candles,
            "in_sample_candles": self.in_sample_candles,
            "anomalous_candles": self.anomalous_candles,
        }


def ensemble_strategy(
    bundle: Path, frame: pd.DataFrame, timeframe: Timeframe, thresholds: SignalThresholds, *, model: str
) -> EnsembleStrategy:
    """The ensemble in ``bundle`` as a strategy over the candle ``frame`` (see the module docstring)."""
    info = read_bundle_info(bundle)
    trained = info.get("info", {})
    if trained.get("timeframe") not in (None, timeframe.value):
        raise ServiceError(f"{model} was trained on {trained['timeframe']} candles, not {timeframe.value}")
    predictor = load_ensemble(bundle, runtime="onnx")
    higher = [Timeframe.parse(tf) for tf in trained.get("higher_timeframes", [])]
    sentiment = trained.get("sentiment") or {}
    headlines = sentiment.get("headlines")
    features = compute_features(
        frame,
        trained.get("feature_set", "default"),
        higher,
        timeframe,
        sentiment=headline_scores(None if headlines is None else Path(headlines)),
        sentiment_windows=tuple(sentiment.get("windows", (24, 168))),
    )
    if list(features.columns) != list(info["feature_names"]):
        raise ServiceError(f"{model} expects other features than this version computes: retrain it")
    matrix = features.to_numpy(dtype=np.float32)
    rows = _predictable_rows(np.all(np.isfinite(matrix), axis=1), predictor.window)
    if not rows.size:
        raise ServiceError(f"too few candles for the features' warm-up ({len(frame)}): widen the range")
    open_ms = pd.DatetimeIndex(frame.index).as_unit("ms").asi8[rows]
    output = predictor.predict(matrix, rows)
    entries = signal_directions(output.prediction, output.confidence, thresholds)
    low, high = trained.get("trained_from_ms", 0), trained.get("trained_until_ms", 0)
    in_sample = int(np.count_nonzero((open_ms >= low) & (open_ms < high)))
    barrier = BarrierConfig(**trained.get("barrier", {}))
    outcome = triple_barrier_labels(
        Bars.from_frame(frame),
        horizon=barrier.horizon,
        profit_mult=barrier.profit_mult,
        stop_mult=barrier.stop_mult,
        atr_period=barrier.atr_period,
        min_return=barrier.min_return,
    )
    decided = outcome.end[rows] >= 0
    classification = (
        classification_metrics(
            (outcome.label[rows][decided] > 0).astype(np.int64),
            (output.prediction[decided] > 0.5).astype(np.int64),
            output.prediction[decided],
            labels=[0, 1],
        )
        if decided.any()
        else None
    )
    scorer = load_anomaly(bundle)
    anomaly = None
    if scorer is not None:
        scored = matrix[rows][:, scorer.columns(list(features.columns))]
        anomaly = AnomalyScores(scorer.score(scored), scorer.threshold)
    flagged = None if anomaly is None else int(np.count_nonzero(anomaly.scores > anomaly.threshold))
    return EnsembleStrategy(
        replay_strategy("ensemble", open_ms, entries, anomaly, output.confidence),
        model,
        int(rows.size),
        in_sample,
        classification,
        flagged,
    )


def _predictable_rows(known: np.ndarray, window: int) -> np.ndarray:
    """Rows whose last ``window`` rows (themselves included) all have every feature."""
    complete = np.zeros(len(known), dtype=bool)
    if len(known) >= window:
        complete[window - 1 :] = np.lib.stride_tricks.sliding_window_view(known, window).all(axis=1)
    return np.flatnonzero(complete)
