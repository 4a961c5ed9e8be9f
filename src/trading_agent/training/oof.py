"""Out-of-sample predictions over purged walk-forward splits: base models, meta model, calibration.

For every split (``training.splits``):

1. each base model is fitted on the split's training rows, weighted by label uniqueness;
2. the base models predict the validation and the test rows, neither of which they saw;
3. the meta model is fitted on the first half of the validation rows (out-of-fold base
   probabilities), and the calibrator on the meta model's output over the second half, so neither
   is fitted on rows it then claims to be calibrated on;
4. the test rows get every base model's probability of "up", the calibrated ensemble's, and its
   confidence (``models.predictor``).

The test rows of all splits together are the out-of-sample record that every reported figure is
computed from. Nothing here looks at a test row before predicting it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from trading_agent.models.base import Model, samples
from trading_agent.models.calibration import CalibrationMethod, Calibrator
from trading_agent.models.ensemble import Combiner, MLPMeta, Stacking, WeightedBlend
from trading_agent.models.predictor import EnsembleOutput, EnsemblePredictor, base_votes
from trading_agent.training.dataset import TrainingSet
from trading_agent.training.splits import Split

__all__ = ["META_MODELS", "FoldResult", "FoldSetup", "fit_ensemble", "run_fold"]

META_MODELS: dict[str, Callable[[], Combiner]] = {"stacking": Stacking, "blend": WeightedBlend, "mlp": MLPMeta}


@dataclass(frozen=True, slots=True)
class FoldSetup:
    """What to train in every fold: base model factories by name, the meta model and the calibration."""

    base_models: Mapping[str, Callable[[], Model]]
    meta: str = "stacking"
    calibration: CalibrationMethod = CalibrationMethod.ISOTONIC

    def __post_init__(self) -> None:
        if not self.base_models:
            raise ValueError("at least one base model is needed")
        if self.meta not in META_MODELS:
            raise ValueError(f"unknown meta model {self.meta!r}; known: {', '.join(sorted(META_MODELS))}")


@dataclass(frozen=True, slots=True)
class FoldResult:
    """One split's fitted ensemble and its out-of-sample output on the test rows (positions in the set)."""

    split: int
    test_rows: np.ndarray
    output: EnsembleOutput
    predictor: EnsemblePredictor


def fit_ensemble(data: TrainingSet, train: np.ndarray, validation: np.ndarray, setup: FoldSetup) -> EnsemblePredictor:
    """Base models on ``train`` (uniqueness-weighted), meta model and calibrator on the two halves of ``validation``.

    A sequence model trains on the windows ending at the training rows that have a full window of
    history (its own window; the rows before it may be earlier than the training window: features
    of the past, never a label).
    """
    names = data.feature_names
    models: dict[str, Model] = {}
    for name, factory in setup.base_models.items():
        model = factory()
        rows = train[train >= model.window - 1]
        if len(np.unique(data.y[rows])) < 2:
            raise ValueError(f"too few training rows ({len(rows)}) with both outcomes to fit {name} on")
        X = samples(data.X, rows, model.input_kind, model.window)
        models[name] = model.fit(X, data.y[rows], data.weight[rows], feature_names=names)
    validation = validation[validation >= max(model.window for model in models.values()) - 1]
    if len(validation) < 4:
        raise ValueError(f"too few validation rows ({len(validation)}) to fit the meta model and the calibrator on")
    P_val = np.column_stack(list(base_votes(models, data.X, validation).values()))
    half = len(validation) // 2
    meta = META_MODELS[setup.meta]().fit(P_val[:half], data.y[validation[:half]])
    calibrator = Calibrator.fit(meta.combine(P_val[half:]), data.y[validation[half:]], setup.calibration)
    return EnsemblePredictor(models, meta, calibrator)


def run_fold(data: TrainingSet, split: Split, setup: FoldSetup) -> FoldResult:
    """Train and predict one split (see the module docstring)."""
    try:
        predictor = fit_ensemble(data, split.train, split.validation, setup)
    except ValueError as exc:
        raise ValueError(f"split {split.index}: {exc}") from exc
    return FoldResult(split.index, split.test, predictor.predict(data.X, split.test), predictor)
