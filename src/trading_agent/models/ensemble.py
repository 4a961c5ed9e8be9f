"""Meta models: how the base models' probabilities of "up" become one probability and a confidence.

Every combiner reads a matrix ``P`` of shape ``(n, m)``: column ``j`` is base model ``j``'s
probability of "up" for each row. The fitted combiners (``WeightedBlend``, ``Stacking``,
``MLPMeta``) are fitted on OUT-OF-FOLD base probabilities (each row predicted by base models
that never trained on it), otherwise they learn to trust whichever base model overfits most.

- ``WeightedBlend``: a convex combination, weights on the simplex minimising the log-loss on the
  validation folds (scipy's L-BFGS on a softmax parametrisation).
- ``Stacking``: logistic regression on the base models' logits (scikit-learn).
- ``MLPMeta``: a small neural meta-learner (scikit-learn ``MLPClassifier``, one hidden layer).
- ``AdaptiveBlender``: the blueprint's adaptive ensemble, online: each model's weight is its hit
  rate over its last ``lookback`` resolved predictions; confidence is the models' agreement
  (1 - the standard deviation of their probabilities) times the ensemble's own recent hit rate.
  An outcome counts only from the moment it is known (``update``), never earlier.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Self

import joblib
import numpy as np
from scipy.optimize import minimize
from scipy.special import logit, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from trading_agent.models.base import ModelInputError

__all__ = ["AdaptiveBlender", "Combiner", "MLPMeta", "Stacking", "WeightedBlend", "load_combiner"]

_EPS = 1e-6


def _check_matrix(P: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] == 0:
        raise ModelInputError(f"base probabilities must be a matrix (rows x models), got shape {P.shape}")
    if not np.all(np.isfinite(P)) or np.any((P < 0) | (P > 1)):
        raise ModelInputError("base probabilities must be finite and in [0, 1]")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (len(P),) or not np.all(np.isin(y, (0, 1))):
            raise ModelInputError(f"outcomes must be {len(P)} values of 0 or 1")
        if len(np.unique(y)) < 2:
            raise ModelInputError("a meta model needs both outcomes (0 and 1) among its rows")
    return P


def _logits(P: np.ndarray) -> np.ndarray:
    return np.asarray(logit(np.clip(P, _EPS, 1.0 - _EPS)))


class Combiner(Protocol):
    """A fitted meta model over base probabilities."""

    def fit(self, P: np.ndarray, y: np.ndarray) -> Self:
        """Fit on out-of-fold base probabilities ``P`` and outcomes ``y`` (1 = up)."""
        ...

    def combine(self, P: np.ndarray) -> np.ndarray:
        """The ensemble's probability of "up" per row."""
        ...

    def save(self, path: Path) -> None:
        """Write the fitted combiner to the file ``path``."""
        ...


class _Saved:
    """Save and load through joblib (the fitted state is a few numbers or a tiny network)."""

    def save(self, path: Path) -> None:
        """Write the fitted combiner to the file ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)


def load_combiner(path: Path) -> Combiner:
    """Read a combiner written by ``save``."""
    combiner = joblib.load(path)
    if not isinstance(combiner, _Saved):
        raise ModelInputError(f"{path} does not hold a meta model")
    return combiner  # type: ignore[return-value]


class WeightedBlend(_Saved):
    """A convex blend whose weights minimise the validation log-loss."""

    def __init__(self) -> None:
        self.weights: np.ndarray | None = None

    def fit(self, P: np.ndarray, y: np.ndarray) -> Self:
        """Fit the weights on out-of-fold probabilities."""
        P = _check_matrix(P, y)
        outcome = np.asarray(y, dtype=np.float64)

        def loss(theta: np.ndarray) -> float:
            p = np.clip(P @ softmax(theta), _EPS, 1.0 - _EPS)
            return float(-np.mean(outcome * np.log(p) + (1.0 - outcome) * np.log(1.0 - p)))

        result = minimize(loss, np.zeros(P.shape[1]), method="L-BFGS-B")
        self.weights = softmax(result.x)
        return self

    def combine(self, P: np.ndarray) -> np.ndarray:
        """The blended probability of "up"."""
        if self.weights is None:
            raise ModelInputError("WeightedBlend is not fitted")
        P = _check_matrix(P)
        if P.shape[1] != len(self.weights):
            raise ModelInputError(f"WeightedBlend was fitted on {len(self.weights)} models, got {P.shape[1]}")
        return np.asarray(P @ self.weights)


class _SklearnMeta(_Saved, ABC):
    """A scikit-learn classifier over the base models' logits."""

    def __init__(self) -> None:
        self.estimator: LogisticRegression | MLPClassifier | None = None
        self.n_models = 0

    @abstractmethod
    def _make(self) -> LogisticRegression | MLPClassifier:
        """A fresh, unfitted estimator."""

    def fit(self, P: np.ndarray, y: np.ndarray) -> Self:
        """Fit on out-of-fold probabilities."""
        P = _check_matrix(P, y)
        self.estimator = self._make().fit(_logits(P), np.asarray(y, dtype=np.int64))
        self.n_models = P.shape[1]
        return self

    def combine(self, P: np.ndarray) -> np.ndarray:
        """The meta model's probability of "up"."""
        if self.estimator is None:
            raise ModelInputError(f"{type(self).__name__} is not fitted")
        P = _check_matrix(P)
        if P.shape[1] != self.n_models:
            raise ModelInputError(f"{type(self).__name__} was fitted on {self.n_models} models, got {P.shape[1]}")
        return np.asarray(self.estimator.predict_proba(_logits(P))[:, 1])


class Stacking(_SklearnMeta):
    """Logistic regression on the base logits (L2, C=1)."""

    def _make(self) -> LogisticRegression:
        return LogisticRegression(C=1.0)


class MLPMeta(_SklearnMeta):
    """A small neural meta-learner: one hidden layer of ``hidden`` units, L2 ``alpha``, early stopping."""

    def __init__(self, hidden: int = 8, alpha: float = 1e-3, seed: int = 0) -> None:
        super().__init__()
        self.hidden, self.alpha, self.seed = hidden, alpha, seed

    def _make(self) -> MLPClassifier:
        return MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            alpha=self.alpha,
            max_iter=500,
            early_stopping=True,
            random_state=self.seed,
        )


@dataclass(frozen=True, slots=True)
class Blended:
    """One adaptive prediction: the probability of "up", its confidence, and the weights used."""

    prediction: float
    confidence: float
    weights: tuple[float, ...]


class AdaptiveBlender(_Saved):
    """The blueprint's adaptive ensemble (see the module docstring); online and causal."""

    def __init__(self, n_models: int, lookback: int = 100, min_history: int = 20) -> None:
        if n_models < 1 or lookback < 1 or not 0 <= min_history <= lookback:
            raise ModelInputError("AdaptiveBlender needs n_models >= 1, lookback >= 1, 0 <= min_history <= lookback")
        self.n_models, self.lookback, self.min_history = n_models, lookback, min_history
        self._hits: list[deque[bool]] = [deque(maxlen=lookback) for _ in range(n_models)]
        self._ensemble_hits: deque[bool] = deque(maxlen=lookback)

    def weights(self) -> np.ndarray:
        """Each model's recent hit rate, normalised; equal weights until ``min_history`` outcomes exist."""
        if len(self._ensemble_hits) < self.min_history:
            return np.full(self.n_models, 1.0 / self.n_models)
        rates = np.array([np.mean(h) for h in self._hits])
        total = rates.sum()
        return rates / total if total > 0 else np.full(self.n_models, 1.0 / self.n_models)

    def recent_accuracy(self) -> float:
        """The ensemble's hit rate over its last ``lookback`` resolved predictions (0.5 before any)."""
        return float(np.mean(self._ensemble_hits)) if self._ensemble_hits else 0.5

    def predict(self, row: np.ndarray) -> Blended:
        """Blend one row of base probabilities."""
        p = _check_matrix(np.asarray(row, dtype=np.float64).reshape(1, -1))[0]
        if len(p) != self.n_models:
            raise ModelInputError(f"AdaptiveBlender blends {self.n_models} models, got {len(p)}")
        w = self.weights()
        agreement = 1.0 - float(np.std(p))
        return Blended(float(p @ w), agreement * self.recent_accuracy(), tuple(map(float, w)))

    def update(self, row: np.ndarray, outcome: int) -> None:
        """Record the outcome (1 = up) of a row predicted earlier, once it is known."""
        p = _check_matrix(np.asarray(row, dtype=np.float64).reshape(1, -1))[0]
        blended = float(p @ self.weights())
        for hits, prob in zip(self._hits, p, strict=True):
            hits.append((prob > 0.5) == bool(outcome))
        self._ensemble_hits.append((blended > 0.5) == bool(outcome))

    def replay(self, P: np.ndarray, y: np.ndarray, known_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predict every row in order, learning each outcome only at row ``known_at[i]`` (the row whose
        close decides it; -1 = never). Returns the predictions and confidences; no look-ahead."""
        P = _check_matrix(P)
        known_at = np.asarray(known_at, dtype=np.int64)
        pending: dict[int, list[int]] = {}
        for i, at in enumerate(known_at):
            if at >= 0:
                pending.setdefault(int(at), []).append(i)
        prediction, confidence = np.empty(len(P)), np.empty(len(P))
        for i in range(len(P)):
            blended = self.predict(P[i])
            prediction[i], confidence[i] = blended.prediction, blended.confidence
            for j in pending.pop(i, []):
                self.update(P[j], int(y[j]))
        return prediction, confidence
