"""Drift detection: population stability index (PSI) of features, and a model-accuracy tracker.

PSI = sum((a - e) * ln(a / e)) over bins whose edges are the quantiles of ``expected``; empty bins
get an epsilon (1e-4) so the log stays finite. Usual reading: < 0.1 stable, 0.1-0.25 moderate
shift, > 0.25 significant shift (retrain).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

from trading_agent.domain.events import ModelDrift

__all__ = ["PSI_MODERATE", "PSI_SIGNIFICANT", "PerformanceTracker", "feature_psi", "population_stability_index"]

PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25
_EPS = 1e-4


def population_stability_index(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """PSI of ``actual`` against ``expected`` on ``bins`` quantile bins of ``expected`` (NaNs ignored)."""
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    e = np.asarray(expected, dtype="float64")
    a = np.asarray(actual, dtype="float64")
    e, a = e[np.isfinite(e)], a[np.isfinite(a)]
    if e.size == 0 or a.size == 0:
        raise ValueError("expected and actual need at least one finite value each")
    edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)))
    inner = edges[1:-1]
    e_share = np.bincount(np.searchsorted(inner, e, side="right"), minlength=inner.size + 1) / e.size
    a_share = np.bincount(np.searchsorted(inner, a, side="right"), minlength=inner.size + 1) / a.size
    e_share, a_share = np.maximum(e_share, _EPS), np.maximum(a_share, _EPS)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def feature_psi(reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10) -> dict[str, float]:
    """PSI of every column of ``reference`` that ``current`` also has."""
    return {
        str(c): population_stability_index(reference[c].to_numpy(), current[c].to_numpy(), bins)
        for c in reference.columns
        if c in current.columns
    }


class PerformanceTracker:
    """Rolling accuracy over the last ``short`` vs the last ``long`` predictions.

    Fires a :class:`ModelDrift` when both windows are full and short accuracy < long accuracy -
    ``threshold``. Hysteresis: after firing it stays silent until short accuracy recovers to at
    least long accuracy - threshold, then may fire again.
    """

    def __init__(self, short: int = 100, long: int = 1000, threshold: float = 0.05) -> None:
        if not 0 < short < long:
            raise ValueError(f"need 0 < short < long, got short={short}, long={long}")
        self.short, self.long, self.threshold = short, long, threshold
        self._hits: deque[int] = deque(maxlen=long)
        self._long_hits = 0  # running hit counts of the two windows, so an update is O(1)
        self._short_hits = 0
        self._drifting = False

    @property
    def short_accuracy(self) -> float | None:
        """Hit rate of the last ``short`` outcomes (None until there are that many)."""
        return self._short_hits / self.short if len(self._hits) >= self.short else None

    @property
    def long_accuracy(self) -> float | None:
        """Hit rate of the last ``long`` outcomes (None until there are that many)."""
        return self._long_hits / self.long if len(self._hits) == self.long else None

    @property
    def drifting(self) -> bool:
        """Whether drift has fired and the short accuracy has not recovered since."""
        return self._drifting

    def update(self, prediction: int, actual: int, ts_ms: int, model: str) -> ModelDrift | None:
        """Record one outcome; a :class:`ModelDrift` when drift starts, else None."""
        hit = int(prediction == actual)
        if len(self._hits) == self.long:
            self._long_hits -= self._hits[0]
        if len(self._hits) >= self.short:
            self._short_hits -= self._hits[-self.short]
        self._hits.append(hit)
        self._long_hits += hit
        self._short_hits += hit
        if len(self._hits) < self.long:
            return None
        long_acc = self._long_hits / self.long
        short_acc = self._short_hits / self.short
        if short_acc < long_acc - self.threshold:
            if not self._drifting:
                self._drifting = True
                return ModelDrift(
                    ts_event=ts_ms,
                    model=model,
                    short_accuracy=short_acc,
                    long_accuracy=long_acc,
                    threshold=self.threshold,
                )
        else:
            self._drifting = False
        return None
