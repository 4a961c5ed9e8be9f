"""The trained ensemble as one object: base models, meta model and calibrator, serving feature rows.

``EnsemblePredictor`` is what a training fold produces and what the signal engine serves: every base
model's probability of "up" (its vote), the meta model's combination, calibrated. Confidence is the
calibrated probability of the predicted direction, ``max(p, 1 - p)``, so a confidence of 0.7 means
the ensemble has been right about 70% of the time at that level (the reliability table shows how
true that is out of sample). The base models may be native or ONNX (``onnx_runtime.OnnxModel``),
tabular or sequence models: the predictor only sees the model protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from trading_agent.models.base import Model, samples
from trading_agent.models.calibration import Calibrator
from trading_agent.models.ensemble import Combiner

__all__ = ["EnsembleOutput", "EnsemblePredictor", "base_votes", "probability_up"]


def probability_up(model: Model, X: np.ndarray) -> np.ndarray:
    """The model's probability of class ``1`` (up) per sample."""
    classes = list(model.metadata.classes)
    return np.asarray(model.predict_proba(X)[:, classes.index(1)], dtype=np.float64)


def base_votes(models: Mapping[str, Model], X: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Each model's probability of up on ``rows`` of the consecutive feature rows ``X`` (its own kind of sample)."""
    return {name: probability_up(m, samples(X, rows, m.input_kind, m.window)) for name, m in models.items()}


@dataclass(frozen=True, slots=True)
class EnsembleOutput:
    """Per sample: the calibrated probability of up, its confidence, and each base model's vote."""

    prediction: np.ndarray
    confidence: np.ndarray
    votes: dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class EnsemblePredictor:
    """Base models → meta model → calibrator.

    It reads consecutive feature rows ``X`` (oldest first) and predicts ``rows`` of them: a tabular
    model sees each row, a sequence model the window of rows ending at it (``models.base.samples``).
    """

    base: Mapping[str, Model]
    meta: Combiner
    calibrator: Calibrator

    @property
    def window(self) -> int:
        """The longest window of the base models: the rows of history one prediction needs."""
        return max(model.window for model in self.base.values())

    def _rows(self, X: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """``rows``, by default every row of ``X`` with a full window of history."""
        return np.arange(self.window - 1, len(X)) if rows is None else np.asarray(rows, dtype=np.int64)

    def votes(self, X: np.ndarray, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every base model's probability of up on ``rows`` of ``X``."""
        return base_votes(self.base, X, self._rows(X, rows))

    def predict(self, X: np.ndarray, rows: np.ndarray | None = None) -> EnsembleOutput:
        """The ensemble's output on ``rows`` of the consecutive feature rows ``X`` (default: all it can)."""
        votes = self.votes(X, rows)
        prediction = self.calibrator.apply(self.meta.combine(np.column_stack(list(votes.values()))))
        return EnsembleOutput(prediction, np.maximum(prediction, 1.0 - prediction), votes)
