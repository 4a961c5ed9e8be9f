"""Robust z-scores (median and MAD), the outlier yardstick of the quality checks."""

from __future__ import annotations

import numpy as np

__all__ = ["robust_zscore"]

_MAD_TO_SIGMA = 0.6744897501960817  # Φ⁻¹(0.75): MAD / 0.6745 estimates σ of a normal sample
_MEAN_AD_TO_SIGMA = 0.7978845608028654  # √(2/π): mean absolute deviation / σ for a normal sample


def robust_zscore(values: np.ndarray) -> np.ndarray:
    """``0.6745 · (x − median) / MAD`` (Iglewicz–Hoaglin modified z-score), NaN where ``x`` is NaN.

    When more than half the values are equal the MAD is 0; the mean absolute deviation stands in
    then (scaled to σ alike), and when every value is equal all scores are 0. So a column of
    mostly-zero wicks does not turn every non-zero wick into an infinite outlier.
    """
    x = np.asarray(values, dtype="float64")
    finite = x[np.isfinite(x)]
    if len(finite) == 0:
        return np.full(x.shape, np.nan)
    median = np.median(finite)
    deviation = np.abs(finite - median)
    mad = np.median(deviation)
    mean_ad = deviation.mean()
    if mad > 0:
        z: np.ndarray = _MAD_TO_SIGMA * (x - median) / mad
    elif mean_ad > 0:
        z = _MEAN_AD_TO_SIGMA * (x - median) / mean_ad
    else:
        z = np.where(np.isnan(x), np.nan, 0.0)
    return z
