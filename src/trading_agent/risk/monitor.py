"""Risk monitoring: VaR/CVaR, rolling Sharpe and Sortino, drawdown and a 0-100 risk score.

Conventions: ``returns`` are simple per-period returns (0.01 = +1%); VaR and CVaR are reported as
POSITIVE loss fractions (a VaR of 0.02 means "lose 2% or more with probability 1 - confidence").
Tail metrics need at least ``MIN_OBSERVATIONS`` returns and are NaN below that; non-finite inputs
raise ``DomainError``. Ratios are per period unless ``periods_per_year`` is given (crypto trades
24/7: hourly candles are 8760 periods a year, never 252).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from trading_agent.risk.errors import RiskError

__all__ = [
    "MIN_OBSERVATIONS",
    "RiskBudget",
    "RiskReport",
    "VaRMethod",
    "conditional_value_at_risk",
    "max_drawdown",
    "risk_report",
    "risk_score",
    "rolling_sharpe",
    "rolling_sortino",
    "value_at_risk",
]

MIN_OBSERVATIONS = 20
_NEGLIGIBLE_SPREAD = 1e-12  # a per-period stdev below this is rounding noise of constant returns
_STANDARD_NORMAL = NormalDist()

FloatArray = npt.NDArray[np.float64]


class VaRMethod(StrEnum):
    """How the return distribution's tail is estimated."""

    HISTORICAL = "historical"
    PARAMETRIC = "parametric"
    CORNISH_FISHER = "cornish_fisher"


def _as_series(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise RiskError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise RiskError(f"{name} must be finite")
    return array


def _check_confidence(confidence: float) -> float:
    if not 0.5 < confidence < 1.0:
        raise RiskError(f"confidence must be in (0.5, 1), got {confidence}")
    return 1.0 - confidence


def _moments(returns: FloatArray) -> tuple[float, float, float, float]:
    mean = float(returns.mean())
    sigma = float(returns.std(ddof=1))
    centred = returns - mean
    m2 = float(np.mean(centred**2))
    if m2 <= _NEGLIGIBLE_SPREAD**2:
        return mean, sigma, 0.0, 0.0
    skew = float(np.mean(centred**3)) / m2**1.5
    excess_kurtosis = float(np.mean(centred**4)) / m2**2 - 3.0
    return mean, sigma, skew, excess_kurtosis


def _cornish_fisher(z: float, skew: float, kurt: float) -> float:
    return z + (z**2 - 1) * skew / 6 + (z**3 - 3 * z) * kurt / 24 - (2 * z**3 - 5 * z) * skew**2 / 36


def value_at_risk(returns: npt.ArrayLike, confidence: float = 0.95, method: VaRMethod = VaRMethod.HISTORICAL) -> float:
    """The loss not exceeded with probability ``confidence``, as a positive fraction.

    Historical: minus the empirical ``1 - confidence`` quantile (numpy's linear interpolation).
    Parametric: ``-(mean + z * stdev)`` with ``z`` the normal quantile. Cornish-Fisher: the same with
    ``z`` adjusted for skew and excess kurtosis (population moments; stdev uses ddof=1). NaN with
    fewer than ``MIN_OBSERVATIONS``.
    """
    series = _as_series(returns, "returns")
    alpha = _check_confidence(confidence)
    if series.size < MIN_OBSERVATIONS:
        return math.nan
    if method is VaRMethod.HISTORICAL:
        return -float(np.quantile(series, alpha))
    mean, sigma, skew, kurt = _moments(series)
    z = _STANDARD_NORMAL.inv_cdf(alpha)
    if method is VaRMethod.CORNISH_FISHER:
        z = _cornish_fisher(z, skew, kurt)
    return -(mean + z * sigma)


def conditional_value_at_risk(
    returns: npt.ArrayLike, confidence: float = 0.95, method: VaRMethod = VaRMethod.HISTORICAL
) -> float:
    """The expected loss in the worst ``1 - confidence`` of periods (expected shortfall), positive.

    Historical: minus the mean of the returns at or below the empirical quantile. Parametric:
    ``-(mean - stdev * pdf(z) / alpha)``. Cornish-Fisher: ``-(mean + stdev * E[cf(Z) | Z <= z])``,
    the exact mean of the Cornish-Fisher-transformed standard normal over its lower ``alpha`` tail
    (closed form from the truncated-normal moments); it equals the parametric value when skew and
    excess kurtosis are 0. NaN with fewer than ``MIN_OBSERVATIONS``.
    """
    series = _as_series(returns, "returns")
    alpha = _check_confidence(confidence)
    if series.size < MIN_OBSERVATIONS:
        return math.nan
    if method is VaRMethod.HISTORICAL:
        cutoff = np.quantile(series, alpha)
        return -float(series[series <= cutoff].mean())
    mean, sigma, skew, kurt = _moments(series)
    z = _STANDARD_NORMAL.inv_cdf(alpha)
    tail_density = _STANDARD_NORMAL.pdf(z) / alpha
    if method is VaRMethod.PARAMETRIC:
        return -(mean - sigma * tail_density)
    # E[Z^k | Z <= z] for k = 1, 2, 3 are -d, 1 - z*d, -(z^2 + 2)*d with d = pdf(z)/alpha.
    tail_mean = tail_density * (-1 - z * skew / 6 + (1 - z**2) * kurt / 24 - (1 - 2 * z**2) * skew**2 / 36)
    return -(mean + sigma * tail_mean)


def _rolling(returns: npt.ArrayLike, window: int) -> tuple[FloatArray, FloatArray]:
    series = _as_series(returns, "returns")
    if window < 2:
        raise RiskError(f"window must be at least 2, got {window}")
    out = np.full(series.size, np.nan)
    if series.size < window:
        return series[:0].reshape(0, window), out
    return np.lib.stride_tricks.sliding_window_view(series, window), out


def _annualise(periods_per_year: float | None) -> float:
    if periods_per_year is None:
        return 1.0
    if periods_per_year <= 0:
        raise RiskError(f"periods_per_year must be positive, got {periods_per_year}")
    return math.sqrt(periods_per_year)


def rolling_sharpe(returns: npt.ArrayLike, window: int = 30, periods_per_year: float | None = None) -> FloatArray:
    """Mean over sample stdev (ddof=1) of each trailing ``window``, risk-free rate 0.

    Same length as ``returns``; NaN before the window fills and where the stdev is 0 (below 1e-12). Multiplied by
    ``sqrt(periods_per_year)`` when given.
    """
    windows, out = _rolling(returns, window)
    if windows.size:
        std = windows.std(axis=1, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(std > _NEGLIGIBLE_SPREAD, windows.mean(axis=1) / std, np.nan)
        out[window - 1 :] = ratio * _annualise(periods_per_year)
    return out


def rolling_sortino(returns: npt.ArrayLike, window: int = 30, periods_per_year: float | None = None) -> FloatArray:
    """Mean over downside deviation ``sqrt(mean(min(r, 0)^2))`` of each trailing ``window``, target 0.

    Same length as ``returns``; NaN before the window fills and where the downside deviation is 0 (below 1e-12).
    Multiplied by ``sqrt(periods_per_year)`` when given.
    """
    windows, out = _rolling(returns, window)
    if windows.size:
        downside = np.sqrt(np.mean(np.minimum(windows, 0.0) ** 2, axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(downside > _NEGLIGIBLE_SPREAD, windows.mean(axis=1) / downside, np.nan)
        out[window - 1 :] = ratio * _annualise(periods_per_year)
    return out


def max_drawdown(equity: npt.ArrayLike) -> float:
    """The largest fractional fall from a running peak, as a positive number (0 for none)."""
    curve = _as_series(equity, "equity")
    if curve.size == 0:
        raise RiskError("equity curve is empty")
    if np.any(curve <= 0):
        raise RiskError("equity must be positive")
    peaks = np.maximum.accumulate(curve)
    return float(np.max(1.0 - curve / peaks))


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskBudget:
    """The limits the risk score measures against, all as fractions (0.15 = 15%)."""

    var_budget: float = 0.03
    max_drawdown: float = 0.15
    max_leverage: float = 3.0
    max_concentration: float = 0.25

    def __post_init__(self) -> None:
        for name in ("var_budget", "max_drawdown", "max_leverage", "max_concentration"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise RiskError(f"{name} must be positive, got {value}")


_SCORE_WEIGHTS = (0.35, 0.35, 0.15, 0.15)


def _utilisation(value: float, limit: float) -> float:
    if math.isnan(value):
        return 1.0
    return min(1.0, max(0.0, value / limit))


def risk_score(var: float, drawdown: float, leverage: float, concentration: float, budget: RiskBudget) -> float:
    """A 0-100 risk score; lower is better.

    ``score = 100 * (0.35*u(var, var_budget) + 0.35*u(drawdown, max_drawdown)
    + 0.15*u(leverage, max_leverage) + 0.15*u(concentration, max_concentration))`` where
    ``u(x, limit) = clip(x / limit, 0, 1)`` is the share of the limit used. ``var`` is a positive
    loss fraction, ``drawdown`` the current fall from peak, ``leverage`` gross exposure over equity,
    ``concentration`` the largest position's notional over equity. A NaN input counts as a fully
    used limit (unknown risk is treated as high). Non-decreasing in every input.
    """
    parts = (
        _utilisation(var, budget.var_budget),
        _utilisation(drawdown, budget.max_drawdown),
        _utilisation(leverage, budget.max_leverage),
        _utilisation(concentration, budget.max_concentration),
    )
    return 100.0 * sum(weight * part for weight, part in zip(_SCORE_WEIGHTS, parts, strict=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskReport:
    """One look at the account's risk. VaR, CVaR and drawdowns are positive loss fractions."""

    observations: int
    confidence: float
    method: VaRMethod
    var: float
    cvar: float
    sharpe: float
    sortino: float
    max_drawdown: float
    current_drawdown: float
    risk_score: float


def risk_report(
    returns: npt.ArrayLike,
    equity: npt.ArrayLike,
    *,
    budget: RiskBudget | None = None,
    leverage: float = 0.0,
    concentration: float = 0.0,
    confidence: float = 0.95,
    method: VaRMethod = VaRMethod.HISTORICAL,
    window: int = 30,
    periods_per_year: float | None = None,
) -> RiskReport:
    """Every monitor metric at once; ``sharpe``/``sortino`` are the latest rolling values."""
    series = _as_series(returns, "returns")
    curve = _as_series(equity, "equity")
    budget = budget or RiskBudget()
    var = value_at_risk(series, confidence, method)
    worst = max_drawdown(curve)
    current = float(1.0 - curve[-1] / curve.max())
    sharpe = rolling_sharpe(series, window, periods_per_year)
    sortino = rolling_sortino(series, window, periods_per_year)
    return RiskReport(
        observations=int(series.size),
        confidence=confidence,
        method=method,
        var=var,
        cvar=conditional_value_at_risk(series, confidence, method),
        sharpe=float(sharpe[-1]) if sharpe.size else math.nan,
        sortino=float(sortino[-1]) if sortino.size else math.nan,
        max_drawdown=worst,
        current_drawdown=current,
        risk_score=risk_score(var, current, leverage, concentration, budget),
    )
