"""The metrics against empyrical-reloaded on the same returns: seeded random returns and real BTC/USDT 1h.

empyrical reports drawdowns and VaR as negative returns; ours are positive fractions, hence the
sign flips. It has no ulcer index, drawdown duration or trade metrics: those are checked by hand
in ``test_metrics.py``. Its CVaR averages the worst ``int((n - 1) * 0.05) + 1`` returns, ours (the
risk monitor's) the returns at or below the 5th percentile, so CVaR is checked against that
definition with numpy here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from trading_agent.backtest import metrics
from trading_agent.data.files import read_candle_file
from trading_agent.domain import Timeframe

empyrical = pytest.importorskip("empyrical")

RTOL = 1e-10
HOURLY = metrics.periods_per_year(Timeframe.H1)


# ours(returns, periods_per_year=p) against empyrical's (returns, annualization=p)
ANNUALISED = {
    "annual_return": (metrics.annual_return, empyrical.annual_return),
    "annual_volatility": (metrics.annual_volatility, empyrical.annual_volatility),
    "sharpe_ratio": (metrics.sharpe_ratio, empyrical.sharpe_ratio),
    "sortino_ratio": (metrics.sortino_ratio, empyrical.sortino_ratio),
    "calmar_ratio": (metrics.calmar_ratio, empyrical.calmar_ratio),
}


def assert_matches_empyrical(returns: npt.NDArray[np.float64], periods: float) -> None:
    equity = metrics.equity_from_returns(returns, start=1000.0)
    pairs = {
        name: (ours(returns, periods_per_year=periods), theirs(returns, annualization=periods))
        for name, (ours, theirs) in ANNUALISED.items()
    }
    pairs |= {
        "total_return": (metrics.total_return(returns), empyrical.cum_returns_final(returns)),
        "max_drawdown": (metrics.max_drawdown(equity), -empyrical.max_drawdown(returns)),
        "drawdown_series": (metrics.drawdown_series(equity)[1:], -empyrical.stats.drawdown_series(returns)),
        "omega_ratio": (metrics.omega_ratio(returns), empyrical.omega_ratio(returns, annualization=periods)),
        "tail_ratio": (metrics.tail_ratio(returns), empyrical.tail_ratio(returns)),
        "var_95": (metrics.var_95(returns), -empyrical.value_at_risk(returns, cutoff=0.05)),
    }
    assert len(pairs) == 11
    for name, (ours_value, their_value) in pairs.items():
        np.testing.assert_allclose(ours_value, their_value, rtol=RTOL, atol=1e-15, err_msg=name)
    np.testing.assert_allclose(metrics.returns_from_equity(equity), returns, rtol=1e-12, atol=1e-15)
    cutoff = np.quantile(returns, 0.05)
    np.testing.assert_allclose(metrics.cvar_95(returns), -returns[returns <= cutoff].mean(), rtol=RTOL)


@pytest.mark.parametrize(
    ("seed", "periods"),
    [(1, HOURLY), (2, metrics.periods_per_year(Timeframe.M1)), (3, metrics.periods_per_year(Timeframe.D1))],
)
def test_random_returns(seed: int, periods: float) -> None:
    rng = np.random.default_rng(seed)
    returns = rng.standard_t(4, 5000) * 0.01 + 0.0002
    assert_matches_empyrical(returns, periods)


def test_skewed_random_returns() -> None:
    rng = np.random.default_rng(4)
    returns = np.expm1(rng.normal(0.0001, 0.02, 2000)) - 0.2 * rng.binomial(1, 0.002, 2000) * rng.random(2000)
    assert_matches_empyrical(returns, HOURLY)


@pytest.mark.real_data
def test_real_btc_hourly_returns(btc_1h_path: Path) -> None:
    close = read_candle_file(btc_1h_path, Timeframe.H1)["close"].to_numpy()
    returns = metrics.returns_from_equity(close)
    assert returns.size > 50_000
    assert_matches_empyrical(returns, HOURLY)
    # the same curve as money: drawdowns on the prices themselves agree with empyrical's on the returns
    np.testing.assert_allclose(metrics.max_drawdown(close), -empyrical.max_drawdown(returns), rtol=RTOL)
