"""``services.risk_view.risk_view``: VaR and CVaR three ways, leverage, the risk score, breakers and limits, horizon.

The reference values are ``risk.monitor``'s functions on returns the test derives from the points itself,
and the risk score's formula by hand.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict
from decimal import Decimal

import numpy as np
import pytest

from trading_agent.risk.limits import RiskLimits
from trading_agent.risk.monitor import VaRMethod, conditional_value_at_risk, value_at_risk
from trading_agent.services.journal_queries import EquityPoint
from trading_agent.services.risk_view import Exposure, risk_view

HOUR_MS = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def curve(equity: list[float] | np.ndarray, step_ms: int = HOUR_MS) -> list[EquityPoint]:
    return [
        EquityPoint(ts=T0 + i * step_ms, equity=Decimal(repr(float(e))), in_position=False)
        for i, e in enumerate(equity)
    ]


def walk(n: int, seed: int = 3, level: float = 10_000.0) -> np.ndarray:
    """``n`` equities of a random walk with fat-ish tails (t-distributed steps)."""
    steps = np.random.default_rng(seed).standard_t(4, n - 1) * 0.004
    return level * np.concatenate(([1.0], np.cumprod(1.0 + steps)))


def exposure(notional: float, **limits: float) -> Exposure:
    return Exposure(notional=notional, breakers={}, limits=asdict(RiskLimits(**limits)))  # type: ignore[arg-type]


@pytest.mark.parametrize("n_points", [0, 1, 2])
def test_fewer_than_two_returns_leave_every_risk_number_undefined(n_points: int) -> None:
    view = risk_view("paper", curve([10_000.0, 10_100.0][:n_points]), None)
    assert view.observations == max(0, n_points - 1)
    assert [v.method for v in view.var] == [m.value for m in VaRMethod]
    assert all(v.var is None and v.cvar is None for v in view.var)
    numbers = (view.sharpe, view.sortino, view.max_drawdown, view.current_drawdown, view.risk_score)
    assert numbers == (None,) * 5
    assert view.leverage is None and view.concentration is None and view.breakers is None and view.limits is None
    assert view.horizon_s == (3600.0 if n_points == 2 else None)
    json.dumps(view.model_dump(mode="json"), allow_nan=False)


def test_var_and_cvar_of_each_method_are_the_monitors_on_the_snapshot_returns() -> None:
    equity = walk(250)
    points = curve(equity)
    view = risk_view("paper", points, None)
    values = np.array([float(p.equity) for p in points])
    returns = values[1:] / values[:-1] - 1.0
    assert view.observations == 249 and view.confidence == 0.95
    by_method = {v.method: v for v in view.var}
    assert set(by_method) == {"historical", "parametric", "cornish_fisher"}
    for method in VaRMethod:
        assert by_method[method.value].var == pytest.approx(value_at_risk(returns, 0.95, method), rel=1e-12)
        assert by_method[method.value].cvar == pytest.approx(
            conditional_value_at_risk(returns, 0.95, method), rel=1e-12
        )
        assert by_method[method.value].cvar >= by_method[method.value].var > 0  # type: ignore[operator]
    historical = -np.quantile(returns, 0.05)
    assert by_method["historical"].var == pytest.approx(historical, rel=1e-12)


def test_drawdowns_are_measured_on_the_equity_points() -> None:
    view = risk_view("paper", curve([100.0, 120.0, 90.0, 110.0, 105.0]), None)
    assert view.max_drawdown == pytest.approx(1 - 90 / 120, rel=1e-12)
    assert view.current_drawdown == pytest.approx(1 - 105 / 120, rel=1e-12)
    # Four returns: too few for VaR (20 needed), so VaR is None but the score counts it as fully used.
    assert all(v.var is None for v in view.var) and view.risk_score is not None and view.risk_score >= 35.0


def test_leverage_is_the_open_notional_over_the_last_equity() -> None:
    view = risk_view("paper", curve([10_000.0, 9_000.0, 8_000.0]), exposure(12_000.0))
    assert view.leverage == pytest.approx(12_000 / 8_000, rel=1e-12)
    assert view.concentration == view.leverage  # one instrument


def test_the_risk_score_is_the_documented_weighting_of_the_limits_used() -> None:
    equity = walk(120, seed=8)
    limits = {"max_drawdown_percent": 20.0, "max_leverage": 4.0, "max_position_fraction": 0.5}
    last = equity[-1]
    view = risk_view("paper", curve(equity), exposure(0.2 * last, **limits))
    points = curve(equity)
    values = np.array([float(p.equity) for p in points])
    returns = values[1:] / values[:-1] - 1.0
    var = value_at_risk(returns, 0.95, VaRMethod.HISTORICAL)
    drawdown = 1 - values[-1] / values.max()
    leverage = 0.2
    expected = 100 * (
        0.35 * min(1.0, var / 0.03)
        + 0.35 * min(1.0, drawdown / 0.20)
        + 0.15 * min(1.0, leverage / 4.0)
        + 0.15 * min(1.0, leverage / 0.5)
    )
    assert view.risk_score == pytest.approx(expected, rel=1e-9)


def test_the_risk_score_rises_with_leverage() -> None:
    equity = walk(100, seed=5)
    last = float(curve(equity)[-1].equity)
    leverages = [0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 2.9, 4.0]
    scores = [risk_view("paper", curve(equity), exposure(lev * last)).risk_score for lev in leverages]
    assert all(s is not None for s in scores)
    assert all(a <= b for a, b in itertools.pairwise(scores)), scores  # type: ignore[operator]
    assert scores[0] < scores[2] < scores[4] < scores[6]  # type: ignore[operator]
    assert scores[-1] - scores[0] == pytest.approx(30.0, rel=1e-9)  # type: ignore[operator]  # both limits full


def test_breakers_and_limits_are_the_exposures_and_none_without_it() -> None:
    equity = walk(40)
    without = risk_view("paper", curve(equity), None)
    assert without.breakers is None and without.limits is None and without.leverage is None
    limits = asdict(RiskLimits())
    tripped = Exposure(notional=0.0, breakers={"daily_loss": "lost 5.2% today"}, limits=limits)
    with_agent = risk_view("paper", curve(equity), tripped)
    assert with_agent.breakers == {"daily_loss": "lost 5.2% today"} and with_agent.limits == limits
    assert with_agent.leverage == 0.0
    json.dumps(with_agent.model_dump(mode="json"), allow_nan=False)


def test_horizon_is_the_median_spacing_of_the_snapshots() -> None:
    offsets_s = [0, 3600, 7200, 14400, 18000, 18060, 21660]  # spacings 3600, 3600, 7200, 3600, 60, 3600
    points = [
        EquityPoint(ts=T0 + s * 1000, equity=Decimal(10_000 + i), in_position=False) for i, s in enumerate(offsets_s)
    ]
    assert risk_view("paper", points, None).horizon_s == 3600.0
    uneven = [EquityPoint(ts=T0 + s * 1000, equity=Decimal(100), in_position=False) for s in (0, 60, 180, 600)]
    assert risk_view("paper", uneven, None).horizon_s == 120.0  # spacings 60, 120, 420


def test_a_flat_curve_has_zero_var_and_undefined_ratios() -> None:
    view = risk_view("paper", curve([5_000.0] * 30), None)
    assert all(v.var == 0.0 for v in view.var if v.method == "historical")
    assert view.sharpe is None and view.sortino is None and view.max_drawdown == 0.0
    json.dumps(view.model_dump(mode="json"), allow_nan=False)


def test_a_wiped_out_account_reads_as_undefined_risk_not_an_error() -> None:
    """Equity 0 (a liquidated paper account) makes leverage and the returns after it undefined: None, no raise."""
    points = curve([100.0, 50.0, 0.0])
    for held in (None, exposure(10.0)):
        view = risk_view("paper", points, held)
        assert view.observations == 0 and view.leverage is None and view.risk_score is None
        json.dumps(view.model_dump(mode="json"), allow_nan=False)
