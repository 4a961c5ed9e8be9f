"""Input checks shared by the metrics modules, and the error they raise.

Every public metric validates its arguments here, so a bad input fails at the boundary with a
message naming the argument, never deep inside numpy as a NaN or an infinity.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from trading_agent.domain import DomainError

__all__ = ["FloatArray", "MetricsInputError"]

FloatArray = npt.NDArray[np.float64]


class MetricsInputError(DomainError):
    """A metric was given an invalid argument (NaN, non-positive equity, mismatched lengths, ...).

    A ``ValueError`` subclass (through ``DomainError``); the message names the argument.
    """


def as_vector(values: npt.ArrayLike, name: str) -> FloatArray:
    """``values`` as a finite 1-D float array, or ``MetricsInputError`` naming ``name``."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise MetricsInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise MetricsInputError(f"{name} must be finite: found NaN or infinity at index {_first_bad(array)}")
    return array


def as_returns(values: npt.ArrayLike, name: str = "returns") -> FloatArray:
    """Simple per-bar returns: finite and above -1 (a return of -100% leaves nothing to compound)."""
    returns = as_vector(values, name)
    if np.any(returns <= -1.0):
        raise MetricsInputError(f"{name} must be above -1 (a simple return), got {returns.min()}")
    return returns


def as_equity(values: npt.ArrayLike, name: str = "equity") -> FloatArray:
    """A non-empty equity curve: finite and strictly positive."""
    equity = as_vector(values, name)
    if equity.size == 0:
        raise MetricsInputError(f"{name} is empty")
    if np.any(equity <= 0):
        raise MetricsInputError(f"{name} must be positive, got {equity.min()} at index {int(np.argmin(equity))}")
    return equity


def as_mask(values: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    """A 1-D boolean array; integer 0/1 is accepted, anything else raises."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise MetricsInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype != np.bool_ and not (array.size == 0 or np.isin(array, (0, 1)).all()):
        raise MetricsInputError(f"{name} must be boolean (or 0/1), got dtype {array.dtype}")
    return array.astype(np.bool_)


def check_periods_per_year(periods_per_year: float) -> float:
    """``periods_per_year`` as a positive finite float."""
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise MetricsInputError(f"periods_per_year must be positive and finite, got {periods_per_year}")
    return float(periods_per_year)


def ratio_of_gain_to_loss(gain: float, loss: float) -> float:
    """``gain / loss`` for a non-negative ``loss``: +inf when nothing was lost but something gained, NaN for 0/0."""
    if loss > 0:
        return gain / loss
    return math.inf if gain > 0 else math.nan


def _first_bad(array: FloatArray) -> int:
    return int(np.flatnonzero(~np.isfinite(array))[0])
