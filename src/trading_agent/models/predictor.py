"""The trained ensemble as one object: base models, meta model and calibrator, serving feature rows.

``EnsemblePredictor`` is what a training fold produces and what the signal engine serves: every base
model's probability of "up" (its vote), the meta model's combination, calibrated. Confidence is the
calibrated probability of the predicted direction, ``max(p, 1 - p)``, so a confidence of 0.7 means
the ensemble has been right about 70% of the time at that level (the reliability table shows how
true that is out of sample). The base models may be native or ONNX (``onnx_runtime.OnnxModel``):
the predictor only sees the model protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from trading_agent.models.base import Model
from trading_agent.models.calibration import Calibrator
from trading_agent.models.ensemble import Combiner

__all__ = ["EnsembleOutput", "EnsemblePredictor", "probability_up"]


def probability_up(model: Model, X: np.ndarray) -> np.ndarray:
    """The model's probability of class ``1`` (up) per sample."""
    classes = list(model.metadata.classes)
    return np.asarray(model.predict_proba(X)[:, classes.index(1)], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class EnsembleOutput:
    """Per sample: the calibrated probability of up, its confidence, and each base model's vote."""

    prediction: np.ndarray
    confidence: np.ndarray
    votes: dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class EnsemblePredictor:
    """Base models → meta model → calibrator."""

    base: Mapping[str, Model]
    meta: Combiner
    calibrator: Calibrator

    def votes(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Every base model's probability of up."""
        return {name: probability_up(model, X) for name, model in self.base.items()}

    def predict(self, X: np.ndarray) -> EnsembleOutput:
        """The ensemble's output for samples ``X``."""
        votes = self.votes(X)
        prediction = self.calibrator.apply(self.meta.combine(np.column_stack(list(votes.values()))))
        return EnsembleOutput(prediction, np.maximum(prediction, 1.0 - prediction), votes)
