"""Backtest metrics: one typed result, ``BacktestMetrics``, from an equity curve, its trades and positions.

The pure functions live in four modules, all re-exported here so ``metrics`` is the one place to
import from: ``metrics_returns`` (returns, drawdowns, tails; annualised on a 24/7 calendar),
``metrics_trades`` (trades, exposure, recovery), ``metrics_research`` (deflated Sharpe, PBO) and
``metrics_classification`` (scikit-learn). ``docs/backtest.md`` lists every definition, its unit
and when it is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from trading_agent.backtest.metrics_classification import ClassificationMetrics, classification_metrics
from trading_agent.backtest.metrics_inputs import MetricsInputError, as_equity, as_mask, check_periods_per_year
from trading_agent.backtest.metrics_research import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    pbo,
    pbo_logits,
    probabilistic_sharpe_ratio,
)
from trading_agent.backtest.metrics_returns import (
    NEGLIGIBLE_STDEV,
    annual_return,
    annual_volatility,
    calmar_ratio,
    cvar_95,
    drawdown_series,
    equity_from_returns,
    max_drawdown,
    max_drawdown_duration,
    omega_ratio,
    periods_per_year,
    returns_from_equity,
    sharpe_ratio,
    sortino_ratio,
    tail_ratio,
    total_return,
    ulcer_index,
    var_95,
)
from trading_agent.backtest.metrics_trades import (
    ClosedTrade,
    avg_holding_time,
    expectancy,
    exposure,
    num_trades,
    profit_factor,
    recovery_factor,
    win_rate,
)

__all__ = [
    "NEGLIGIBLE_STDEV",
    "BacktestMetrics",
    "ClassificationMetrics",
    "MetricsInputError",
    "annual_return",
    "annual_volatility",
    "avg_holding_time",
    "calmar_ratio",
    "classification_metrics",
    "compute_metrics",
    "cvar_95",
    "deflated_sharpe_ratio",
    "drawdown_series",
    "equity_from_returns",
    "expectancy",
    "expected_max_sharpe",
    "exposure",
    "max_drawdown",
    "max_drawdown_duration",
    "num_trades",
    "omega_ratio",
    "pbo",
    "pbo_logits",
    "periods_per_year",
    "probabilistic_sharpe_ratio",
    "profit_factor",
    "recovery_factor",
    "returns_from_equity",
    "sharpe_ratio",
    "sortino_ratio",
    "tail_ratio",
    "total_return",
    "trial_sharpe_ratios",
    "ulcer_index",
    "var_95",
    "win_rate",
]

JsonMetric: TypeAlias = float | int | dict[str, float] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestMetrics:
    """Every metric of one backtest. Field names are the keys of ``trading-agent backtest --json``.

    Fractions are plain (0.1 = 10%); money is in the account currency; ratios are annualised with
    the ``periods_per_year`` given to ``compute_metrics``. NaN marks an undefined value (see each
    function, and ``docs/backtest.md``); ``pbo`` is None unless a search's trial returns were
    given, ``classification`` None unless a model made the signals.
    """

    total_return: float
    annual_return: float
    annual_volatility: float
    sharpe_ratio: float
    sortino_ratio: float
    calmar_ratio: float
    max_drawdown: float
    max_drawdown_duration: int
    win_rate: float
    profit_factor: float
    expectancy: float
    recovery_factor: float
    exposure: float
    num_trades: int
    avg_holding_time: float
    var_95: float
    cvar_95: float
    ulcer_index: float
    omega_ratio: float
    tail_ratio: float
    deflated_sharpe_ratio: float
    pbo: float | None = None
    classification: ClassificationMetrics | None = None

    def to_dict(self) -> dict[str, JsonMetric]:
        """JSON-ready values: floats (NaN and +inf stay floats; ``json.dumps`` writes NaN and Infinity), ints, None.

        ``classification`` becomes a nested dict (or None).
        """
        out: dict[str, JsonMetric] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, ClassificationMetrics):
                out[field.name] = value.to_dict()
            elif value is None or isinstance(value, int):
                out[field.name] = value
            else:
                out[field.name] = float(value)
        return out


def compute_metrics(
    equity: npt.ArrayLike,
    *,
    trades: Sequence[ClosedTrade],
    in_position: npt.ArrayLike,
    periods_per_year: float,
    n_trials: int = 1,
    trial_sharpes: npt.ArrayLike | None = None,
    trial_returns: npt.ArrayLike | None = None,
    pbo_blocks: int = 16,
    classification: ClassificationMetrics | None = None,
) -> BacktestMetrics:
    """Every metric of a backtest from its per-bar equity curve (money), closed trades and position mask.

    Returns are derived from ``equity`` (``returns_from_equity``: one fewer than the bars);
    ``total_return`` is ``equity[-1] / equity[0] - 1``.
    ``in_position`` has one boolean per bar of ``equity``. ``n_trials`` counts the configurations a
    search tried (1: no search); ``trial_sharpes`` are their Sharpe ratios, annualised with the same
    ``periods_per_year``, and are required when ``n_trials > 1`` unless ``trial_returns`` (``T x N``
    per-bar returns of the N trials) is given, in which case they default to its columns' Sharpe
    ratios. ``trial_returns`` also turns on ``pbo`` (CSCV over ``pbo_blocks`` blocks).
    ``classification`` comes from ``classification_metrics`` on the model's out-of-sample predictions.
    Raises ``MetricsInputError`` for NaN or non-positive equity and mismatched lengths.
    """
    curve = as_equity(equity)
    mask = as_mask(in_position, "in_position")
    if mask.size != curve.size:
        raise MetricsInputError(f"in_position has {mask.size} bars but equity has {curve.size}")
    ppy = check_periods_per_year(periods_per_year)
    returns = returns_from_equity(curve)
    search_pbo: float | None = None
    if trial_returns is not None:
        search_pbo = pbo(trial_returns, n_blocks=pbo_blocks)  # validates the matrix
        matrix = np.asarray(trial_returns, dtype=np.float64)
        if n_trials < matrix.shape[1]:
            raise MetricsInputError(
                f"n_trials ({n_trials}) is smaller than the {matrix.shape[1]} trial_returns columns"
            )
        if trial_sharpes is None:
            trial_sharpes = trial_sharpe_ratios(matrix, ppy)
    return BacktestMetrics(
        total_return=float(curve[-1] / curve[0] - 1.0),
        annual_return=annual_return(returns, periods_per_year=ppy),
        annual_volatility=annual_volatility(returns, periods_per_year=ppy),
        sharpe_ratio=sharpe_ratio(returns, periods_per_year=ppy),
        sortino_ratio=sortino_ratio(returns, periods_per_year=ppy),
        calmar_ratio=calmar_ratio(returns, periods_per_year=ppy),
        max_drawdown=max_drawdown(curve),
        max_drawdown_duration=max_drawdown_duration(curve),
        win_rate=win_rate(trades),
        profit_factor=profit_factor(trades),
        expectancy=expectancy(trades),
        recovery_factor=recovery_factor(curve),
        exposure=exposure(mask),
        num_trades=num_trades(trades),
        avg_holding_time=avg_holding_time(trades),
        var_95=var_95(returns),
        cvar_95=cvar_95(returns),
        ulcer_index=ulcer_index(curve),
        omega_ratio=omega_ratio(returns),
        tail_ratio=tail_ratio(returns),
        deflated_sharpe_ratio=deflated_sharpe_ratio(
            returns, n_trials=n_trials, trial_sharpes=trial_sharpes, periods_per_year=ppy
        ),
        pbo=search_pbo,
        classification=classification,
    )


def trial_sharpe_ratios(matrix: npt.NDArray[np.float64], ppy: float) -> npt.NDArray[np.float64]:
    """The Sharpe ratio of each column of ``matrix`` (a trial's per-bar returns) that has one.

    A flat trial (no risk measured) has no Sharpe ratio: it counts among the trials, not in the
    spread of their Sharpe ratios, so it is left out here.
    """
    stdev = matrix.std(axis=0, ddof=1)
    defined = stdev > NEGLIGIBLE_STDEV  # a flat trial has no Sharpe: it counts in n_trials, not in the spread
    return np.asarray(matrix.mean(axis=0)[defined] / stdev[defined] * math.sqrt(ppy), dtype=np.float64)
