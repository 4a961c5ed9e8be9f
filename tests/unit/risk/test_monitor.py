"""Risk monitor: VaR/CVaR by three methods, rolling ratios, drawdown and the risk score."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_agent.domain.errors import DomainError
from trading_agent.risk.monitor import (
    MIN_OBSERVATIONS,
    RiskBudget,
    VaRMethod,
    conditional_value_at_risk,
    max_drawdown,
    risk_report,
    risk_score,
    rolling_sharpe,
    rolling_sortino,
    value_at_risk,
)

SAMPLE = np.random.default_rng(7).standard_t(df=4, size=500) * 0.01
BUDGET = RiskBudget()


def _exactly_normal(sigma: float, size: int = 2001) -> npt.NDArray[np.float64]:
    """Normal quantiles at evenly spaced probabilities, scaled to mean 0 and sample stdev ``sigma``."""
    normal = NormalDist()
    raw = np.array([normal.inv_cdf((i + 0.5) / size) for i in range(size)])
    return np.asarray(raw / raw.std(ddof=1) * sigma, dtype=np.float64)


def test_historical_var_and_cvar_match_numpy() -> None:
    cutoff = np.quantile(SAMPLE, 0.05)
    assert value_at_risk(SAMPLE) == pytest.approx(-cutoff)
    assert conditional_value_at_risk(SAMPLE) == pytest.approx(-SAMPLE[SAMPLE - cutoff <= 0].mean())
    assert value_at_risk(SAMPLE, 0.99) > value_at_risk(SAMPLE, 0.95) > 0


def test_historical_var_by_hand() -> None:
    returns = np.arange(-10, 10) / 100  # -10% .. 9%, 20 points
    # 5% quantile: position 0.05 * 19 = 0.95 between -10% and -9% -> -9.05%
    assert value_at_risk(returns) == pytest.approx(0.0905)
    assert conditional_value_at_risk(returns) == pytest.approx(0.10)


def test_parametric_var_of_a_normal_sample_is_the_textbook_value() -> None:
    returns = _exactly_normal(0.01)
    assert value_at_risk(returns, method=VaRMethod.PARAMETRIC) == pytest.approx(0.0164485, rel=1e-5)
    assert value_at_risk(returns, 0.99, VaRMethod.PARAMETRIC) == pytest.approx(0.0232635, rel=1e-5)
    # expected shortfall of N(0, 1%) at 95%: pdf(1.6449) / 0.05 * 1% = 2.0627%
    assert conditional_value_at_risk(returns, method=VaRMethod.PARAMETRIC) == pytest.approx(0.0206271, rel=1e-5)


def test_parametric_var_matches_numpy_mean_and_stdev() -> None:
    z = NormalDist().inv_cdf(0.05)
    expected = -(SAMPLE.mean() + z * SAMPLE.std(ddof=1))
    assert value_at_risk(SAMPLE, method=VaRMethod.PARAMETRIC) == pytest.approx(expected)


def test_cornish_fisher_equals_parametric_without_skew_or_excess_kurtosis() -> None:
    # symmetric, and P(|r| = a) = 1/3 gives kurtosis 1 / (1/3) = 3 exactly, so excess kurtosis 0
    returns = np.array([-0.02] * 10 + [0.0] * 40 + [0.02] * 10) + 0.001
    for confidence in (0.9, 0.95, 0.99):
        for metric in (value_at_risk, conditional_value_at_risk):
            cf = metric(returns, confidence, VaRMethod.CORNISH_FISHER)
            assert cf == pytest.approx(metric(returns, confidence, VaRMethod.PARAMETRIC), rel=1e-12)


def test_cornish_fisher_widens_the_tail_of_fat_tailed_returns() -> None:
    assert value_at_risk(SAMPLE, 0.99, VaRMethod.CORNISH_FISHER) > value_at_risk(SAMPLE, 0.99, VaRMethod.PARAMETRIC)


def test_cornish_fisher_cvar_matches_numerical_integration_of_its_quantile() -> None:
    normal = NormalDist()
    mean, sigma = SAMPLE.mean(), SAMPLE.std(ddof=1)
    centred = SAMPLE - mean
    m2 = np.mean(centred**2)
    s, k = np.mean(centred**3) / m2**1.5, np.mean(centred**4) / m2**2 - 3
    # E[cf(Z) | Z <= z_alpha] by midpoint rule on z in (-12, z_alpha), weighted by the normal density
    z_alpha = normal.inv_cdf(0.05)
    grid = np.linspace(-12, z_alpha, 200_001)
    mid = (grid[1:] + grid[:-1]) / 2
    cf = mid + (mid**2 - 1) * s / 6 + (mid**3 - 3 * mid) * k / 24 - (2 * mid**3 - 5 * mid) * s**2 / 36
    density = np.exp(-(mid**2) / 2) / math.sqrt(2 * math.pi)
    tail_mean = np.sum(cf * density * np.diff(grid)) / 0.05
    expected = -(mean + sigma * tail_mean)
    assert conditional_value_at_risk(SAMPLE, method=VaRMethod.CORNISH_FISHER) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("method", list(VaRMethod))
def test_too_few_observations_give_nan(method: VaRMethod) -> None:
    short = SAMPLE[: MIN_OBSERVATIONS - 1]
    assert math.isnan(value_at_risk(short, method=method))
    assert math.isnan(conditional_value_at_risk(short, method=method))
    assert not math.isnan(value_at_risk(SAMPLE[:MIN_OBSERVATIONS], method=method))


def test_bad_inputs_raise() -> None:
    with pytest.raises(DomainError, match="finite"):
        value_at_risk([0.01, math.nan] * 20)
    with pytest.raises(DomainError, match="one-dimensional"):
        value_at_risk(np.zeros((5, 5)))
    with pytest.raises(DomainError, match="confidence"):
        conditional_value_at_risk(SAMPLE, 1.0)
    with pytest.raises(DomainError, match="window"):
        rolling_sharpe(SAMPLE, window=1)
    with pytest.raises(DomainError, match="periods_per_year"):
        rolling_sortino(SAMPLE, periods_per_year=0)
    with pytest.raises(DomainError, match="positive"):
        max_drawdown([100.0, 0.0])
    with pytest.raises(DomainError, match="empty"):
        max_drawdown([])


def test_rolling_sharpe_and_sortino_by_hand() -> None:
    returns = np.array([0.01, -0.02, 0.03, 0.02])
    sharpe = rolling_sharpe(returns, window=3)
    sortino = rolling_sortino(returns, window=3)
    assert np.isnan(sharpe[:2]).all() and np.isnan(sortino[:2]).all()
    # window [0.01, -0.02, 0.03]: mean 0.00667, stdev(ddof=1) 0.025166, downside sqrt(0.0004/3) 0.011547
    assert sharpe[2] == pytest.approx((0.02 / 3) / 0.025166115, rel=1e-6)
    assert sortino[2] == pytest.approx((0.02 / 3) / math.sqrt(0.0004 / 3), rel=1e-9)
    # window [-0.02, 0.03, 0.02]: mean 0.01, stdev 0.026458, downside sqrt(0.0004/3)
    assert sharpe[3] == pytest.approx(0.01 / 0.0264575131, rel=1e-6)
    assert sortino[3] == pytest.approx(0.01 / math.sqrt(0.0004 / 3), rel=1e-9)
    hourly = rolling_sharpe(returns, window=3, periods_per_year=8760)
    assert hourly[3] == pytest.approx(sharpe[3] * math.sqrt(8760))


def test_rolling_ratios_are_nan_without_spread_or_downside() -> None:
    flat = np.full(40, 0.001)
    assert np.isnan(rolling_sharpe(flat)).all()
    assert np.isnan(rolling_sortino(flat)).all()
    assert np.isnan(rolling_sharpe(flat[:10])).all()
    assert rolling_sharpe(SAMPLE).shape == SAMPLE.shape


def test_max_drawdown_by_hand() -> None:
    assert max_drawdown([100, 120, 90, 110, 130, 117]) == pytest.approx(0.25)  # 120 -> 90
    assert max_drawdown([100, 101, 102]) == 0.0
    assert max_drawdown([100]) == 0.0


def test_risk_score_by_hand_and_at_its_bounds() -> None:
    assert risk_score(0.0, 0.0, 0.0, 0.0, BUDGET) == 0.0
    assert risk_score(1.0, 1.0, 10.0, 1.0, BUDGET) == 100.0
    # half of every limit used -> 50
    assert risk_score(0.015, 0.075, 1.5, 0.125, BUDGET) == pytest.approx(50.0)
    # only the VaR budget fully used -> its weight, 35
    assert risk_score(0.03, 0.0, 0.0, 0.0, BUDGET) == pytest.approx(35.0)
    assert risk_score(math.nan, 0.0, 0.0, 0.0, BUDGET) == pytest.approx(35.0)  # unknown counts as full
    assert risk_score(-0.01, 0.0, 0.0, 0.0, BUDGET) == 0.0  # a negative VaR (a gain) is no risk


def test_risk_budget_rejects_non_positive_limits() -> None:
    with pytest.raises(DomainError, match="max_leverage"):
        RiskBudget(max_leverage=0)


def test_risk_report_collects_every_metric() -> None:
    equity = 10_000 * np.cumprod(1 + SAMPLE)
    report = risk_report(SAMPLE, equity, leverage=1.5, concentration=0.1, periods_per_year=8760)
    assert report.observations == 500
    assert report.var == pytest.approx(value_at_risk(SAMPLE))
    assert report.cvar == pytest.approx(conditional_value_at_risk(SAMPLE))
    assert report.sharpe == pytest.approx(rolling_sharpe(SAMPLE, 30, 8760)[-1])
    assert report.sortino == pytest.approx(rolling_sortino(SAMPLE, 30, 8760)[-1])
    assert report.max_drawdown == pytest.approx(max_drawdown(equity))
    assert report.current_drawdown == pytest.approx(1 - equity[-1] / equity.max())
    expected = risk_score(report.var, report.current_drawdown, 1.5, 0.1, BUDGET)
    assert report.risk_score == pytest.approx(expected)
    assert 0 <= report.risk_score <= 100


def test_risk_report_on_a_short_history() -> None:
    report = risk_report([0.01, -0.01], [100.0, 101.0, 100.0])
    assert math.isnan(report.var) and math.isnan(report.sharpe)
    assert report.max_drawdown == pytest.approx(1 / 101)


finite_returns = st.lists(
    st.floats(min_value=-0.5, max_value=0.5, allow_nan=False, allow_subnormal=False),
    min_size=MIN_OBSERVATIONS,
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(finite_returns, st.sampled_from([0.9, 0.95, 0.99]))
def test_historical_cvar_is_at_least_var(returns: list[float], confidence: float) -> None:
    var = value_at_risk(returns, confidence)
    cvar = conditional_value_at_risk(returns, confidence)
    assert cvar >= var - 1e-12


usage = st.floats(min_value=-10, max_value=10, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(usage, usage, usage, usage, st.floats(min_value=0, max_value=5))
def test_risk_score_is_bounded_and_non_decreasing(
    var: float, drawdown: float, leverage: float, concentration: float, bump: float
) -> None:
    score = risk_score(var, drawdown, leverage, concentration, BUDGET)
    assert 0.0 <= score <= 100.0
    for bumped in (
        risk_score(var + bump, drawdown, leverage, concentration, BUDGET),
        risk_score(var, drawdown + bump, leverage, concentration, BUDGET),
        risk_score(var, drawdown, leverage + bump, concentration, BUDGET),
        risk_score(var, drawdown, leverage, concentration + bump, BUDGET),
    ):
        assert score - 1e-9 <= bumped <= 100.0
