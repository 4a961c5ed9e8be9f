"""Fitted tree and sequence models on small learnable datasets, and a saved ensemble bundle, for the model tests."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trading_agent.models.base import windows
from trading_agent.models.bundle import save_ensemble
from trading_agent.models.calibration import CalibrationMethod, Calibrator
from trading_agent.models.ensemble import Stacking
from trading_agent.models.predictor import EnsemblePredictor, probability_up
from trading_agent.models.sequence import SequenceModel, make_sequence_model
from trading_agent.models.trees import TreeModel, make_tree_model

N_TRAIN = 1500
FAST = {
    "lgbm": {"n_estimators": 50},
    "xgb": {"n_estimators": 50},
    "catboost": {"iterations": 50},
    "rf": {"n_estimators": 50},
}


def dataset(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """2,000 rows x 12 features; the label is a noisy linear rule of the first four."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 12))
    score = X[:, :4] @ np.array([1.0, -1.0, 0.5, 0.8]) + rng.normal(scale=0.7, size=2000)
    y = (score > 0).astype(int) if kind == "binary" else np.digitize(score, [-0.6, 0.6]) - 1
    return X, y


def fitted(key: str, kind: str) -> tuple[TreeModel, np.ndarray, np.ndarray]:
    X, y = dataset(kind)
    model = make_tree_model(key, **FAST[key]).fit(X[:N_TRAIN], y[:N_TRAIN])
    return model, X[N_TRAIN:], y[N_TRAIN:]


@dataclass(frozen=True)
class Bundle:
    """A saved ensemble bundle, the predictor it was saved from, and held-out rows to predict."""

    path: Path
    predictor: EnsemblePredictor
    X: np.ndarray


@functools.cache
def _small_ensemble(keys: tuple[str, ...]) -> tuple[EnsemblePredictor, np.ndarray]:
    X_all, y_all = dataset("binary")
    base = {
        key: make_tree_model(key, **dict.fromkeys(FAST[key], 20)).fit(X_all[:N_TRAIN], y_all[:N_TRAIN]) for key in keys
    }
    X, y = X_all[N_TRAIN:], y_all[N_TRAIN:]
    P = np.column_stack([probability_up(model, X) for model in base.values()])
    meta = Stacking().fit(P[:250], y[:250])
    calibrator = Calibrator.fit(meta.combine(P[250:]), y[250:], CalibrationMethod.PLATT)
    return EnsemblePredictor(base, meta, calibrator), X


def make_bundle(tmp_path: Path, name: str = "bundle", keys: tuple[str, ...] = ("lgbm", "xgb")) -> Bundle:
    """Save a small ensemble to ``tmp_path/name``: ``keys`` with 20 trees each, stacking, Platt calibration.

    The ensemble is fitted once per process (fitting is deterministic); every call writes a new bundle.
    """
    predictor, X = _small_ensemble(keys)
    path = tmp_path / name
    save_ensemble(predictor, path, info={"trained_on": "testkit.dataset('binary')"})
    return Bundle(path, predictor, X)


SEQUENCE_WINDOW = 8
SEQUENCE_TRAIN = 900
TINY_SEQUENCE = {"window": SEQUENCE_WINDOW, "hidden": 16, "layers": 1, "epochs": 12, "batch_size": 64, "lr": 5e-3}
"""Small enough to fit one sequence model in about a second on one CPU thread."""
TINY_PER_KEY = {"transformer": {"heads": 2}, "tcn": {"layers": 3}}


def sequence_series(n: int = 1300, n_features: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A float32 feature series and, per row ``t``, the label ``x[t - 3, 0] > 0`` (the first 3 rows: 0)."""
    rng = np.random.default_rng(seed)
    series = rng.normal(size=(n, n_features)).astype(np.float32)
    label = np.zeros(n, dtype=np.int64)
    label[3:] = series[:-3, 0] > 0
    return series, label


def sequence_dataset() -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``sequence_series`` and the label of each window's last row: learnable from 3 steps back."""
    series, label = sequence_series()
    return windows(series, SEQUENCE_WINDOW), label[SEQUENCE_WINDOW - 1 :]


def tiny_sequence_model(key: str, **params: object) -> SequenceModel:
    """An unfitted ``key`` sequence model with the tiny test parameters (``params`` override them)."""
    return make_sequence_model(key, **{**TINY_SEQUENCE, **TINY_PER_KEY.get(key, {}), **params})


@functools.cache
def fitted_sequence(key: str) -> tuple[SequenceModel, np.ndarray, np.ndarray]:
    """A tiny ``key`` model fitted on the first windows of ``sequence_dataset``, and the later windows and labels.

    Fitted once per process (fitting is deterministic); do not mutate the returned model.
    """
    X, y = sequence_dataset()
    model = tiny_sequence_model(key).fit(X[:SEQUENCE_TRAIN], y[:SEQUENCE_TRAIN])
    return model, X[SEQUENCE_TRAIN:], y[SEQUENCE_TRAIN:]
