"""Return, drawdown and tail metrics: pure functions over per-bar returns or an equity curve.

Conventions (the same as empyrical's, which the tests check them against):

- ``returns`` are simple per-bar returns (0.01 = +1%), finite and above -1; ``equity`` is a
  positive equity curve in money (or any positive scale), one value per bar, starting value first.
  ``returns_from_equity`` and ``equity_from_returns`` convert; path metrics (drawdowns) take the
  equity curve itself, so a curve that returns exactly to its peak is seen to recover.
- Annualised metrics take ``periods_per_year`` explicitly: crypto trades 24/7, so it is
  ``365 x bars per day`` (``periods_per_year(Timeframe.H1) == 8760``), never 252.
- Risk-free rate 0. Standard deviations are sample ones (ddof=1).
- Drawdowns are positive fractions of the running peak (0.2 = 20% below it).
- Undefined values are NaN, never an exception: fewer than 2 returns for a volatility, a zero
  stdev for a Sharpe. A gain over a zero loss (Sortino with no losing bar, Calmar with no
  drawdown, Omega with no bar below the threshold, tail ratio with a zero 5th percentile) is +inf;
  0/0 is NaN.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from trading_agent.backtest.metrics_inputs import (
    FloatArray,
    MetricsInputError,
    as_equity,
    as_returns,
    check_periods_per_year,
    ratio_of_gain_to_loss,
)
from trading_agent.domain import Timeframe
from trading_agent.risk import monitor

__all__ = [
    "NEGLIGIBLE_STDEV",
    "annual_return",
    "annual_volatility",
    "calmar_ratio",
    "cvar_95",
    "drawdown_series",
    "equity_from_returns",
    "max_drawdown",
    "max_drawdown_duration",
    "omega_ratio",
    "periods_per_year",
    "returns_from_equity",
    "sharpe_ratio",
    "sortino_ratio",
    "tail_ratio",
    "total_return",
    "ulcer_index",
    "var_95",
]

NEGLIGIBLE_STDEV = 1e-12
"""A per-bar stdev at or below this is rounding noise of constant returns: the Sharpe ratio is NaN."""

_YEAR_MS = 365 * 86_400_000


def periods_per_year(timeframe: Timeframe) -> float:
    """Bars in a 365-day year of 24/7 trading: ``365 x 24 x 60 / minutes per bar`` (1h: 8760, 1m: 525600).

    Trap: the equity-market 252 trading days would understate a crypto year of daily bars by 31%
    (and its annualised volatility by a factor ``sqrt(365 / 252)``).
    """
    return _YEAR_MS / timeframe.ms


def returns_from_equity(equity: npt.ArrayLike) -> FloatArray:
    """Simple per-bar returns ``equity[t] / equity[t-1] - 1``: one fewer than the curve's points."""
    curve = as_equity(equity)
    return curve[1:] / curve[:-1] - 1.0


def equity_from_returns(returns: npt.ArrayLike, start: float = 1.0) -> FloatArray:
    """The curve ``start, start*(1+r0), start*(1+r0)*(1+r1), ...``: one more point than ``returns``."""
    series = as_returns(returns)
    if not (math.isfinite(start) and start > 0):
        raise MetricsInputError(f"start must be positive and finite, got {start}")
    return np.concatenate(([start], start * np.cumprod(1.0 + series)))


def total_return(returns: npt.ArrayLike) -> float:
    """Compounded return over the whole series, ``prod(1 + r) - 1`` (0 for no returns)."""
    return float(np.prod(1.0 + as_returns(returns)) - 1.0)


def annual_return(returns: npt.ArrayLike, *, periods_per_year: float) -> float:
    """Geometric annual return (CAGR): ``(1 + total_return) ** (periods_per_year / n) - 1``.

    NaN for no returns. Trap: over a few bars the exponent is huge, so a short lucky run
    annualises to absurd numbers; read it only over months of bars.
    """
    series = as_returns(returns)
    years = series.size / check_periods_per_year(periods_per_year)
    if series.size == 0:
        return math.nan
    return float(np.prod(1.0 + series) ** (1.0 / years) - 1.0)


def annual_volatility(returns: npt.ArrayLike, *, periods_per_year: float) -> float:
    """Sample stdev (ddof=1) of the returns times ``sqrt(periods_per_year)``; NaN below 2 returns."""
    series = as_returns(returns)
    scale = math.sqrt(check_periods_per_year(periods_per_year))
    if series.size < 2:
        return math.nan
    return float(series.std(ddof=1)) * scale


def sharpe_ratio(returns: npt.ArrayLike, *, periods_per_year: float) -> float:
    """``mean / stdev (ddof=1) x sqrt(periods_per_year)``, risk-free rate 0.

    NaN below 2 returns or when the per-bar stdev is at most ``NEGLIGIBLE_STDEV`` (a flat or
    constant-growth curve: no risk was measured, so the ratio is undefined, not infinite). Pass
    ``periods_per_year=1`` for the per-bar Sharpe the deflated Sharpe ratio works with.
    """
    series = as_returns(returns)
    scale = math.sqrt(check_periods_per_year(periods_per_year))
    if series.size < 2:
        return math.nan
    stdev = float(series.std(ddof=1))
    if stdev <= NEGLIGIBLE_STDEV:
        return math.nan
    return float(series.mean()) / stdev * scale


def sortino_ratio(returns: npt.ArrayLike, *, periods_per_year: float) -> float:
    """``mean / downside deviation x sqrt(periods_per_year)``, required return 0 (empyrical's definition).

    The downside deviation is ``sqrt(mean(min(r, 0) ** 2))`` over ALL bars (not only the losing
    ones, and without ddof). +inf when no bar lost and the mean is positive; NaN for no returns
    or a flat curve.
    """
    series = as_returns(returns)
    scale = math.sqrt(check_periods_per_year(periods_per_year))
    if series.size == 0:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(series, 0.0) ** 2)))
    return ratio_of_gain_to_loss(float(series.mean()), downside) * scale


def drawdown_series(equity: npt.ArrayLike) -> FloatArray:
    """Per-bar fall below the running peak, ``1 - equity / cummax(equity)``: fractions in [0, 1), 0 at a peak."""
    curve = as_equity(equity)
    return 1.0 - curve / np.maximum.accumulate(curve)


def max_drawdown(equity: npt.ArrayLike) -> float:
    """The largest fall from a running peak, as a positive fraction in [0, 1) (0 for a curve that never falls).

    empyrical reports the same number negated. From ``risk.monitor.max_drawdown``.
    """
    return monitor.max_drawdown(as_equity(equity))


def max_drawdown_duration(equity: npt.ArrayLike) -> int:
    """The longest drawdown in bars, from the peak to the first bar back at or above it.

    A drawdown not recovered by the last bar lasts to the end. Example: ``[1, 0.9, 0.95, 1.0]``
    lasts 3 bars (peak at bar 0, recovered at bar 3); ``[1, 0.9, 0.95]`` lasts 2. 0 for a curve
    that never falls.
    """
    drawdown = drawdown_series(equity)
    underwater = np.concatenate(([False], drawdown > 0, [False]))
    edges = np.flatnonzero(np.diff(underwater.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]  # each run of underwater bars is drawdown[start:end]
    if starts.size == 0:
        return 0
    recovered = ends < drawdown.size
    return int(np.max(ends - starts + recovered))


def ulcer_index(equity: npt.ArrayLike) -> float:
    """Root-mean-square drawdown over every bar, ``sqrt(mean(drawdown ** 2))``, as a fraction (not percent).

    Peter Martin's measure of how deep and how long the curve stays under water; 0 for a curve
    that never falls. quantstats divides by ``n - 1`` and reports the same fraction; Martin used percent.
    """
    return math.sqrt(float(np.mean(drawdown_series(equity) ** 2)))


def calmar_ratio(returns: npt.ArrayLike, *, periods_per_year: float) -> float:
    """``annual_return / max_drawdown`` of the compounded returns.

    NaN for no returns. +inf with a positive return and no drawdown (empyrical returns NaN
    there), NaN with neither.
    """
    growth = annual_return(returns, periods_per_year=periods_per_year)
    if math.isnan(growth):
        return math.nan
    return ratio_of_gain_to_loss(growth, max_drawdown(equity_from_returns(returns)))


def omega_ratio(returns: npt.ArrayLike, threshold: float = 0.0) -> float:
    """Gains over losses around a per-bar ``threshold``: ``sum(max(r - t, 0)) / sum(max(t - r, 0))``.

    Threshold 0 by default (empyrical's ``required_return=0``). +inf when no bar is below the
    threshold but some are above (empyrical returns NaN there); NaN for no returns or all bars at it.
    """
    excess = as_returns(returns) - threshold
    return ratio_of_gain_to_loss(float(excess[excess > 0].sum()), float(-excess[excess < 0].sum()))


def tail_ratio(returns: npt.ArrayLike) -> float:
    """``|95th percentile| / |5th percentile|`` of the returns (numpy's linear interpolation).

    Above 1: the right tail (gains) is fatter than the left. NaN for no returns; +inf when the
    5th percentile is exactly 0 and the 95th is not.
    """
    series = as_returns(returns)
    if series.size == 0:
        return math.nan
    return ratio_of_gain_to_loss(abs(float(np.percentile(series, 95))), abs(float(np.percentile(series, 5))))


def var_95(returns: npt.ArrayLike) -> float:
    """Historical 95% value at risk: minus the 5th percentile of the returns, a positive loss fraction.

    ``risk.monitor.value_at_risk``; NaN below ``monitor.MIN_OBSERVATIONS`` (20) returns.
    """
    return monitor.value_at_risk(as_returns(returns), 0.95, monitor.VaRMethod.HISTORICAL)


def cvar_95(returns: npt.ArrayLike) -> float:
    """Historical 95% expected shortfall: minus the mean of the returns at or below the 5th percentile.

    ``risk.monitor.conditional_value_at_risk``; NaN below 20 returns. empyrical averages the worst
    ``int((n - 1) * 0.05) + 1`` returns instead, which differs slightly.
    """
    return monitor.conditional_value_at_risk(as_returns(returns), 0.95, monitor.VaRMethod.HISTORICAL)
