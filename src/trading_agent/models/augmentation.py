"""Training-data augmentation for the deep sequence models: jitter, magnitude scaling, slicing, time warping.

Why hand-written: the four transforms are a few lines of numpy each (Um et al., "Data Augmentation of
Wearable Sensor Data", 2017; Le Guennec et al., "Data Augmentation for Time Series Classification
using CNNs", 2016), and they must respect one invariant no library knows about: a sample is the
window that *ends at its decision row* (``models.base.windows``), the row whose label it carries.

Every transform reads standardised windows ``(n, window, n_features)`` (the training fold's scaler
applied, so one ``sigma`` means the same for every feature) and returns a new array of the same
shape; labels and sample weights are never touched. ``augment`` applies the enabled transforms in
the order slice, warp, scale, jitter, with draws from the ``numpy`` generator it is given, so the
result is a pure function of the input and the seed.

- **jitter**: add ``N(0, jitter_sigma^2)`` noise to every value.
- **magnitude scaling**: multiply each window by one factor ``~ N(1, scaling_sigma^2)`` shared by all its
  steps and features (the deviations from the training mean grow or shrink together).
- **window slicing**, anchored at the decision row: keep the last ``L`` rows, ``L`` uniform in
  ``[ceil((1 - slice_fraction) x window), window]``, and stretch them back to ``window`` steps by linear
  interpolation. The classic slice crops at a random place, so the cropped window may end *before*
  the decision row: the label would then belong to a row the network no longer sees, which is a
  label shift, not an augmentation. Cropping only the oldest rows keeps the last row exactly.
- **time warping**: resample the window along a smooth random monotone time axis (speeds
  ``exp(N(0, warp_sigma^2))`` at ``warp_knots`` knots, interpolated linearly, integrated, rescaled so
  that the first and the last step stay in place). The last row is again exactly the decision row.

``Augmentation`` (all strengths 0, so no effect, unless set) is the config; a sequence model takes it,
or its plain-dict form, as its ``augmentation`` parameter (``models.sequence``), and applies it to
its training windows only: ``copies`` freshly drawn augmented copies of every training window are
added to the originals in each epoch. The early-stopping hold-out and ``predict_proba`` never see it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_agent.models.base import ModelInputError

__all__ = ["Augmentation", "augment", "jitter", "scale_magnitude", "slice_windows", "warp_time"]

FloatArray = npt.NDArray[np.floating[Any]]


@dataclass(frozen=True, slots=True)
class Augmentation:
    """Which transforms run and how strong they are (0 turns one off); see the module docstring.

    ``copies`` augmented copies of every training window are added per epoch; ``seed`` fixes the draws
    (epoch ``e`` draws from ``numpy.random.default_rng([seed, e])``).
    """

    jitter_sigma: float = 0.0
    scaling_sigma: float = 0.0
    slice_fraction: float = 0.0
    warp_sigma: float = 0.0
    warp_knots: int = 4
    copies: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("jitter_sigma", "scaling_sigma", "warp_sigma"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ModelInputError(f"augmentation {name} must be finite and >= 0, got {value!r}")
        if not 0.0 <= self.slice_fraction < 1.0:
            raise ModelInputError(f"augmentation slice_fraction must be in [0, 1), got {self.slice_fraction!r}")
        if self.warp_knots < 2:
            raise ModelInputError(f"augmentation warp_knots must be at least 2, got {self.warp_knots!r}")
        if self.copies < 1:
            raise ModelInputError(f"augmentation copies must be at least 1, got {self.copies!r}")

    @property
    def enabled(self) -> bool:
        """Whether any transform changes the data."""
        return any(v > 0 for v in (self.jitter_sigma, self.scaling_sigma, self.slice_fraction, self.warp_sigma))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form a model stores in its params (and ``from_value`` reads)."""
        return asdict(self)

    @classmethod
    def from_value(cls, value: Augmentation | dict[str, Any] | None) -> Augmentation | None:
        """``value`` itself, built from its dict form (unknown keys are a ``ModelInputError``), or None."""
        if value is None or isinstance(value, Augmentation):
            return value
        if not isinstance(value, dict):
            raise ModelInputError(f"augmentation must be an Augmentation, a dict or None, got {type(value).__name__}")
        unknown = set(value) - {f.name for f in fields(cls)}
        if unknown:
            raise ModelInputError(f"unknown augmentation settings: {', '.join(sorted(unknown))}")
        return cls(**value)


def augment(X: FloatArray, config: Augmentation, rng: np.random.Generator) -> FloatArray:
    """One augmented copy of standardised windows ``X``: slice, warp, scale, jitter, each when enabled."""
    _check_windows(X)
    out = np.array(X, copy=True)
    if config.slice_fraction > 0:
        out = slice_windows(out, config.slice_fraction, rng)
    if config.warp_sigma > 0:
        out = warp_time(out, config.warp_sigma, rng, knots=config.warp_knots)
    if config.scaling_sigma > 0:
        out = scale_magnitude(out, config.scaling_sigma, rng)
    if config.jitter_sigma > 0:
        out = jitter(out, config.jitter_sigma, rng)
    return out


def jitter(X: FloatArray, sigma: float, rng: np.random.Generator) -> FloatArray:
    """``X`` plus Gaussian noise of standard deviation ``sigma`` on every value."""
    _check_windows(X)
    noisy: FloatArray = X + rng.normal(0.0, sigma, size=X.shape).astype(X.dtype)
    return noisy


def scale_magnitude(X: FloatArray, sigma: float, rng: np.random.Generator) -> FloatArray:
    """``X`` with each window multiplied by one factor drawn from ``N(1, sigma^2)``."""
    _check_windows(X)
    factors = rng.normal(1.0, sigma, size=(X.shape[0], 1, 1)).astype(X.dtype)
    scaled: FloatArray = X * factors
    return scaled


def slice_windows(X: FloatArray, fraction: float, rng: np.random.Generator) -> FloatArray:
    """Crop up to ``fraction`` of each window's oldest rows and stretch the rest back to the window length.

    The kept length is uniform in ``[ceil((1 - fraction) x window), window]``; the last row is unchanged.
    """
    _check_windows(X)
    n, window, _ = X.shape
    shortest = max(1, math.ceil((1.0 - fraction) * window))
    kept = rng.integers(shortest, window + 1, size=n)
    # Step j of the output reads position start + j * (kept - 1) / (window - 1) of the input.
    unit = np.linspace(0.0, 1.0, window) if window > 1 else np.ones(1)
    positions = (window - kept)[:, None] + unit[None, :] * (kept - 1)[:, None]
    return _resample(X, positions)


def warp_time(X: FloatArray, sigma: float, rng: np.random.Generator, *, knots: int = 4) -> FloatArray:
    """Resample each window along a smooth random monotone time axis that keeps its first and last step."""
    _check_windows(X)
    n, window, _ = X.shape
    if window < 2:
        return np.array(X, copy=True)
    speeds = np.exp(rng.normal(0.0, sigma, size=(n, knots)))
    grid = np.linspace(0.0, 1.0, knots)
    steps = np.linspace(0.0, 1.0, window - 1)
    speed = np.stack([np.interp(steps, grid, row) for row in speeds])
    elapsed = np.concatenate([np.zeros((n, 1)), np.cumsum(speed, axis=1)], axis=1)
    positions = elapsed / elapsed[:, -1:] * (window - 1)
    return _resample(X, positions)


def _resample(X: FloatArray, positions: npt.NDArray[np.float64]) -> FloatArray:
    # Linear interpolation of every window at its own fractional positions (n x window), all features at once.
    window = X.shape[1]
    positions = np.clip(positions, 0.0, window - 1)
    lower = np.minimum(np.floor(positions).astype(np.int64), window - 1)
    upper = np.minimum(lower + 1, window - 1)
    weight = (positions - lower)[:, :, None].astype(X.dtype)
    rows = np.arange(X.shape[0])[:, None]
    out: FloatArray = X[rows, lower] * (1 - weight) + X[rows, upper] * weight
    return out


def _check_windows(X: FloatArray) -> None:
    if X.ndim != 3:
        raise ModelInputError(f"augmentation reads windows of shape (n, window, n_features), got shape {X.shape}")
