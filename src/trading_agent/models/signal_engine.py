"""The signal engine: one closed candle in, one calibrated signal out, from the ensemble loaded once.

It keeps the streaming features of its series (``features.FeatureEngine``, O(1) per candle, the
same numbers as the batch path) and the last rows a sequence model's window needs, and on every
closed candle predicts that candle with the ensemble (ONNX Runtime by default) and maps it to
strong_buy … strong_sell. Until the features have warmed up and the longest window is full it
returns None. The bundle's feature names must be the engine's columns in the
same order, or it refuses to start: a model is never fed features it was not trained on. A bundle
with an anomaly detector also scores the candle's row (``anomaly_score``, ``anomaly``). Its state
(``save_state``) is the feature engine's plus the recent rows, so a restarted agent resumes exactly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trading_agent.domain import Candle, Timeframe
from trading_agent.features import FeatureEngine
from trading_agent.features.bars import Bar
from trading_agent.models.anomaly_runtime import OnnxAnomalyScorer
from trading_agent.models.base import ModelInputError
from trading_agent.models.bundle import Runtime, load_anomaly, load_ensemble, read_bundle_info
from trading_agent.models.predictor import EnsemblePredictor
from trading_agent.models.signals import SignalClass, SignalThresholds, classify

__all__ = ["Signal", "SignalEngine"]


@dataclass(frozen=True, slots=True)
class Signal:
    """The ensemble's view of the candle that opened at ``ts``: class, probability of up, confidence, votes."""

    ts: int
    signal: SignalClass
    prediction: float
    confidence: float
    votes: dict[str, float]
    anomaly_score: float | None = None
    anomaly: bool = False


class SignalEngine:
    """Streaming features plus a loaded ensemble for one series."""

    def __init__(
        self,
        predictor: EnsemblePredictor,
        features: FeatureEngine,
        thresholds: SignalThresholds,
        anomaly: OnnxAnomalyScorer | None = None,
    ) -> None:
        first = next(iter(predictor.base.values())).metadata
        if list(first.feature_names) != features.columns:
            raise ModelInputError(
                f"the model was trained on {len(first.feature_names)} features that differ from the "
                f"{len(features.columns)} this feature engine computes: retrain it"
            )
        self._predictor = predictor
        self._features = features
        self._thresholds = thresholds
        self._anomaly = anomaly
        self._anomaly_columns = None if anomaly is None else anomaly.columns(features.columns)
        self._history: deque[np.ndarray] = deque(maxlen=predictor.window)

    @classmethod
    def from_bundle(
        cls, path: Path, timeframe: Timeframe, thresholds: SignalThresholds, *, runtime: Runtime = "onnx"
    ) -> SignalEngine:
        """The engine of the bundle at ``path`` with the feature set and higher timeframes it was trained on."""
        info = read_bundle_info(path).get("info", {})
        if info.get("sentiment"):
            raise ModelInputError(
                f"{path} was trained with headline sentiment features: the streaming signal engine has no "
                "sentiment feed yet; train without `sentiment.headlines` to serve it"
            )
        features = FeatureEngine(
            info.get("feature_set", "default"),
            timeframe=timeframe,
            higher_timeframes=info.get("higher_timeframes", []),
        )
        return cls(load_ensemble(path, runtime), features, thresholds, load_anomaly(path))

    @property
    def warmup(self) -> int:
        """Candles before the first signal: every feature known, then the longest model window full."""
        return self._features.warmup + self._predictor.window - 1

    @property
    def anomaly_threshold(self) -> float | None:
        """The anomaly detector's threshold (None without a detector)."""
        return None if self._anomaly is None else self._anomaly.threshold

    def update(self, candle: Candle | Bar) -> np.ndarray | None:
        """Consume the next closed candle without predicting; its feature row, or None until every feature is known."""
        row = np.fromiter(self._features.update(candle).values(), dtype=np.float32)
        if not np.all(np.isfinite(row)):
            self._history.clear()
            return None
        self._history.append(row)
        return row

    def on_candle(self, candle: Candle | Bar) -> Signal | None:
        """Consume the next closed candle; its signal, or None until the longest window of rows has every feature."""
        row = self.update(candle)
        return None if row is None else self.predict_latest(int(candle.ts))

    def predict_latest(self, ts: int) -> Signal | None:
        """The signal at the newest row (the candle opened at ``ts``), predicted again without taking anything in.

        None until the longest window of rows has every feature.
        """
        if len(self._history) < self._predictor.window:
            return None
        recent = np.stack(self._history)
        row = recent[-1]
        output = self._predictor.predict(recent, np.array([len(recent) - 1]))
        prediction, confidence = float(output.prediction[0]), float(output.confidence[0])
        score = None
        if self._anomaly is not None and self._anomaly_columns is not None:
            score = float(self._anomaly.score(row[None, self._anomaly_columns])[0])
        return Signal(
            ts=ts,
            signal=classify(prediction, confidence, self._thresholds),
            prediction=prediction,
            confidence=confidence,
            votes={name: float(v[0]) for name, v in output.votes.items()},
            anomaly_score=score,
            anomaly=self._anomaly is not None and score is not None and score > self._anomaly.threshold,
        )

    def save_state(self) -> tuple[bytes, list[np.ndarray]]:
        """The streaming features' state and the recent rows: what ``restore_state`` resumes from."""
        return self._features.save(), list(self._history)

    def restore_state(self, state: tuple[bytes, list[np.ndarray]]) -> None:
        """Resume from ``save_state`` output (refused when it was saved for other features)."""
        blob, rows = state
        features = FeatureEngine.restore(blob, self._features.feature_set)
        if features.columns != self._features.columns:
            raise ModelInputError("the saved feature state has other columns than this model's: start afresh")
        self._features = features
        self._history = deque(rows, maxlen=self._predictor.window)
