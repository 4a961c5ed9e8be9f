"""The risk report of a session: VaR and CVaR three ways, rolling Sharpe and Sortino, drawdowns, breakers, risk score.

Returns are those between the journal's equity snapshots (one per candle, the running agent's
equity now as the newest point), so VaR and CVaR are losses over one candle (``horizon_s``, the
median spacing), at 95% (``risk.monitor``: historical, parametric and
Cornish-Fisher). The risk score (0-100, lower is safer) weighs VaR, the current drawdown,
leverage and concentration against the limits (``risk.monitor.risk_score``). Breakers and limits
come from the running agent (None without it). Undefined values are None, and so is everything
measured on returns once the equity has reached zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from trading_agent.risk.monitor import RiskBudget, VaRMethod, conditional_value_at_risk, risk_report, value_at_risk
from trading_agent.services.journal_queries import EquityPoint
from trading_agent.services.report_values import finite

__all__ = ["Exposure", "RiskView", "VaRView", "risk_view"]

_CONFIDENCE = 0.95
_ROLLING = 30
_MIN_RETURNS = 2


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the running agent holds and obeys: its open notional, the tripped breakers and the limits."""

    notional: float
    breakers: Mapping[str, str]
    limits: Mapping[str, Any]


class VaRView(BaseModel):
    """Value at risk and expected shortfall (positive loss fractions) by one method."""

    method: str
    var: float | None
    cvar: float | None


class RiskView(BaseModel):
    """One look at the session's risk (see the module docstring)."""

    session: str
    observations: int
    horizon_s: float | None
    confidence: float
    var: list[VaRView]
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    current_drawdown: float | None
    leverage: float | None
    concentration: float | None
    risk_score: float | None
    breakers: dict[str, str] | None
    limits: dict[str, Any] | None


def _var_views(returns: np.ndarray) -> list[VaRView]:
    if returns.size < _MIN_RETURNS:
        return [VaRView(method=method.value, var=None, cvar=None) for method in VaRMethod]
    return [
        VaRView(
            method=method.value,
            var=finite(value_at_risk(returns, _CONFIDENCE, method)),
            cvar=finite(conditional_value_at_risk(returns, _CONFIDENCE, method)),
        )
        for method in VaRMethod
    ]


def risk_view(session: str, points: Sequence[EquityPoint], exposure: Exposure | None) -> RiskView:
    """The risk report of ``session`` from its equity points (oldest first) and the agent's exposure."""
    equity = np.array([float(p.equity) for p in points], dtype=np.float64)
    spacing = np.diff([p.ts for p in points]) / 1000.0
    measurable = equity.size > 1 and bool(np.all(equity > 0))  # an account wiped out has no returns to measure
    returns = equity[1:] / equity[:-1] - 1.0 if measurable else np.empty(0)
    leverage = None
    if exposure is not None and equity.size and equity[-1] > 0:
        leverage = exposure.notional / float(equity[-1])
    report = None
    if returns.size >= _MIN_RETURNS:
        limits = exposure.limits if exposure is not None else {}
        budget = RiskBudget(
            max_drawdown=float(limits.get("max_drawdown_percent", 15.0)) / 100.0,
            max_leverage=float(limits.get("max_leverage", 3.0)),
            max_concentration=float(limits.get("max_position_fraction", 0.25)),
        )
        report = risk_report(
            returns,
            equity,
            budget=budget,
            leverage=leverage or 0.0,
            concentration=leverage or 0.0,  # one instrument: the largest position is all of it
            confidence=_CONFIDENCE,
            window=min(_ROLLING, int(returns.size)),
        )
    return RiskView(
        session=session,
        observations=int(returns.size),
        horizon_s=float(np.median(spacing)) if spacing.size else None,
        confidence=_CONFIDENCE,
        var=_var_views(returns),
        sharpe=None if report is None else finite(report.sharpe),
        sortino=None if report is None else finite(report.sortino),
        max_drawdown=None if report is None else finite(report.max_drawdown),
        current_drawdown=None if report is None else finite(report.current_drawdown),
        leverage=leverage if leverage is None or math.isfinite(leverage) else None,
        concentration=leverage if leverage is None or math.isfinite(leverage) else None,
        risk_score=None if report is None else finite(report.risk_score),
        breakers=None if exposure is None else dict(exposure.breakers),
        limits=None if exposure is None else dict(exposure.limits),
    )
