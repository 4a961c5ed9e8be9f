"""Fitted tree models on a small learnable dataset, for the model tests."""

from __future__ import annotations

import numpy as np

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
