"""Probability calibration, so that "confidence 0.7" means about a 70% hit rate.

A calibrator is fitted on OUT-OF-FOLD probabilities of the class "up" and the realised outcomes
(never on the rows the model trained on, which would make every model look sure of itself).
Two methods, both from scikit-learn:

- ``isotonic``: a monotone step fit (``IsotonicRegression``); flexible, needs a few hundred rows.
- ``platt``: a logistic fit on the logit of the probability (Platt scaling); two parameters,
  robust on small samples.

The fitted calibrator keeps only its numbers (the isotonic knots, or Platt's slope and intercept)
and applies them with numpy, so a saved calibrator is a small JSON document and serving it needs
no scikit-learn object. ``reliability_table`` is the table of the training report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from trading_agent.models.base import ModelInputError

__all__ = ["CalibrationMethod", "Calibrator", "expected_calibration_error", "reliability_table"]

_EPS = 1e-6


class CalibrationMethod(StrEnum):
    """How probabilities are mapped to hit rates."""

    ISOTONIC = "isotonic"
    PLATT = "platt"


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    return np.asarray(np.log(q / (1.0 - q)))


def _check(p: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ModelInputError("probabilities must be a 1-D array of finite values in [0, 1]")
    if y is None:
        return p, None
    y = np.asarray(y)
    if y.shape != p.shape:
        raise ModelInputError(f"outcomes must match the probabilities: {y.shape} vs {p.shape}")
    if not np.all(np.isin(y, (0, 1))):
        raise ModelInputError("outcomes must be 0 or 1")
    return p, y.astype(np.float64)


@dataclass(frozen=True, slots=True)
class Calibrator:
    """A fitted probability calibrator; ``apply`` maps raw probabilities of "up" to calibrated ones."""

    method: CalibrationMethod
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()
    slope: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(
        cls, p: np.ndarray, y: np.ndarray, method: CalibrationMethod | str = CalibrationMethod.ISOTONIC
    ) -> Calibrator:
        """Fit on out-of-fold probabilities ``p`` of "up" and outcomes ``y`` (1 = up happened)."""
        p, outcome = _check(p, y)
        assert outcome is not None
        method = CalibrationMethod(method)
        if len(np.unique(outcome)) < 2:
            raise ModelInputError("calibration needs both outcomes (0 and 1) among the rows")
        if method is CalibrationMethod.ISOTONIC:
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, outcome)
            return cls(method, tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))
        logistic = LogisticRegression(C=1e6).fit(_logit(p).reshape(-1, 1), outcome)
        return cls(method, slope=float(logistic.coef_[0, 0]), intercept=float(logistic.intercept_[0]))

    def apply(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of "up" for raw probabilities ``p``."""
        p, _ = _check(p)
        if self.method is CalibrationMethod.ISOTONIC:
            return np.asarray(np.interp(p, self.knots_x, self.knots_y))
        return np.asarray(1.0 / (1.0 + np.exp(-(self.slope * _logit(p) + self.intercept))))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what the registry stores)."""
        return {
            "method": self.method.value,
            "knots_x": list(self.knots_x),
            "knots_y": list(self.knots_y),
            "slope": self.slope,
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibrator:
        """The inverse of ``to_json``."""
        return cls(
            CalibrationMethod(data["method"]),
            tuple(data.get("knots_x", ())),
            tuple(data.get("knots_y", ())),
            float(data.get("slope", 1.0)),
            float(data.get("intercept", 0.0)),
        )


def reliability_table(p: np.ndarray, y: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Rows of equal-width probability bins: ``lower``, ``upper``, ``count``, ``mean_predicted``,
    ``observed_rate`` (the hit rate of the rows in the bin). Empty bins are left out."""
    p, outcome = _check(p, y)
    assert outcome is not None
    if bins < 1:
        raise ModelInputError(f"bins must be >= 1, got {bins}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append((edges[b], edges[b + 1], int(mask.sum()), float(p[mask].mean()), float(outcome[mask].mean())))
    return pd.DataFrame(rows, columns=["lower", "upper", "count", "mean_predicted", "observed_rate"])


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """The count-weighted mean gap between predicted probability and observed rate over the bins."""
    table = reliability_table(p, y, bins)
    gaps = (table["mean_predicted"] - table["observed_rate"]).abs()
    return float((gaps * table["count"]).sum() / table["count"].sum())
