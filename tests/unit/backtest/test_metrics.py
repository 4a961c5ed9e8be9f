"""Backtest metrics by hand: tiny curves worked out on paper, degenerate inputs, bad inputs, properties.

The reference checks against empyrical are in ``test_metrics_reference.py``; the deflated Sharpe
ratio and PBO in ``test_metrics_research.py``; classification in ``test_metrics_classification.py``.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_agent.backtest import metrics
from trading_agent.backtest.metrics import (
    BacktestMetrics,
    ClassificationMetrics,
    MetricsInputError,
    compute_metrics,
)
from trading_agent.domain import InstrumentId, PositionSide, Timeframe, Trade, TradeId

HOUR_MS = 3_600_000

# The worked example: 100 -> 110 -> 99 -> 99 -> 108.9, returns +10%, -10%, 0%, +10%.
EQUITY = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
RETURNS = np.array([0.1, -0.1, 0.0, 0.1])


# A 1-contract long round trip at 100; only its PnL and holding time matter to the metrics.
FLAT_TRADE = {
    "instrument": InstrumentId("delta_india", "BTCUSD"),
    "side": PositionSide.LONG,
    "contracts": 1,
    "entry_price": Decimal(100),
    "exit_price": Decimal(100),
    "pnl_percent": Decimal(0),
    "fees": Decimal(0),
    "funding": Decimal(0),
    "ts_opened": 0,
    "exit_reason": "test",
}


def make_trade(pnl: str, hours: int = 1, n: int = 0) -> Trade:
    return Trade(id=TradeId(f"t{n}"), pnl=Decimal(pnl), ts_closed=hours * HOUR_MS, **FLAT_TRADE)  # type: ignore[arg-type]


# PnL +30, -10, 0, +20, -20 held 1 to 5 hours.
TRADES = [
    make_trade(pnl, hours, n) for n, (pnl, hours) in enumerate([("30", 1), ("-10", 2), ("0", 3), ("20", 4), ("-20", 5)])
]


class TestAnnualisation:
    @pytest.mark.parametrize(
        ("timeframe", "expected"),
        [
            (Timeframe.M1, 525_600),
            (Timeframe.M5, 105_120),
            (Timeframe.H1, 8760),
            (Timeframe.H4, 2190),
            (Timeframe.D1, 365),
        ],
    )
    def test_a_24_7_year(self, timeframe: Timeframe, expected: float) -> None:
        assert metrics.periods_per_year(timeframe) == expected

    def test_every_timeframe_fills_365_days(self) -> None:
        for timeframe in Timeframe:
            assert metrics.periods_per_year(timeframe) * timeframe.ms == pytest.approx(365 * 86_400_000)
        assert metrics.periods_per_year(Timeframe.W1) == pytest.approx(365 / 7)


class TestReturnsByHand:
    def test_returns_and_equity_convert_both_ways(self) -> None:
        np.testing.assert_allclose(metrics.returns_from_equity(EQUITY), RETURNS, atol=1e-15)
        np.testing.assert_allclose(metrics.equity_from_returns(RETURNS, start=100.0), EQUITY, rtol=1e-15)

    def test_total_and_annual_return(self) -> None:
        # 1.1 * 0.9 * 1.0 * 1.1 = 1.089
        assert metrics.total_return(RETURNS) == pytest.approx(0.089, rel=1e-12)
        # 4 bars at 4 bars a year are one year: CAGR = total return
        assert metrics.annual_return(RETURNS, periods_per_year=4) == pytest.approx(0.089, rel=1e-12)
        # at 2 bars a year they are two years: 1.089 ** (1/2) - 1 = 1.0435516... - 1
        assert metrics.annual_return(RETURNS, periods_per_year=2) == pytest.approx(0.0435516, rel=1e-6)

    def test_volatility_and_sharpe(self) -> None:
        # mean 0.025; deviations .075, -.125, -.025, .075; squares sum to .0275; sample var .0275 / 3
        stdev = math.sqrt(0.0275 / 3)  # 0.0957427
        assert metrics.annual_volatility(RETURNS, periods_per_year=4) == pytest.approx(stdev * 2, rel=1e-12)
        assert metrics.sharpe_ratio(RETURNS, periods_per_year=4) == pytest.approx(0.025 / stdev * 2, rel=1e-12)
        assert metrics.sharpe_ratio(RETURNS, periods_per_year=4) == pytest.approx(0.5222330, rel=1e-6)

    def test_sortino_uses_every_bar_in_the_downside_deviation(self) -> None:
        # min(r, 0)^2 = 0, .01, 0, 0: mean .0025 over all four bars, root .05; .025 / .05 * sqrt(4) = 1
        assert metrics.sortino_ratio(RETURNS, periods_per_year=4) == pytest.approx(1.0, rel=1e-12)

    def test_drawdowns(self) -> None:
        # peak 110, then 99 (-10%), 99, 108.9 (-1%): never recovered
        np.testing.assert_allclose(metrics.drawdown_series(EQUITY), [0, 0, 0.1, 0.1, 0.01], atol=1e-15)
        assert metrics.max_drawdown(EQUITY) == pytest.approx(0.1, rel=1e-12)
        assert metrics.max_drawdown_duration(EQUITY) == 3  # peak at bar 1, still under water at bar 4
        # sqrt((0 + 0 + .01 + .01 + .0001) / 5) = sqrt(.00402)
        assert metrics.ulcer_index(EQUITY) == pytest.approx(math.sqrt(0.00402), rel=1e-12)

    @pytest.mark.parametrize(
        ("curve", "bars"),
        [
            ([1.0, 0.9, 0.95, 1.0], 3),  # peak at 0, back at the peak at 3
            ([1.0, 0.9, 0.95], 2),  # to the end
            ([1.0, 0.9, 1.0, 1.2, 1.1, 1.15, 1.1, 1.3], 4),  # the second (bars 3 to 7) is the longest
            ([1.0, 1.0, 1.1, 1.2], 0),
            ([5.0], 0),
        ],
    )
    def test_drawdown_duration(self, curve: list[float], bars: int) -> None:
        assert metrics.max_drawdown_duration(curve) == bars

    def test_calmar_omega_tail(self) -> None:
        assert metrics.calmar_ratio(RETURNS, periods_per_year=4) == pytest.approx(0.089 / 0.1, rel=1e-12)
        # gains .1 + .1 over losses .1
        assert metrics.omega_ratio(RETURNS) == pytest.approx(2.0, rel=1e-12)
        # sorted -.1, 0, .1, .1; 95th at position 2.85 -> .1; 5th at 0.15 -> -.1 + .15 * .1 = -.085
        assert metrics.tail_ratio(RETURNS) == pytest.approx(0.1 / 0.085, rel=1e-12)

    def test_omega_threshold_is_per_bar(self) -> None:
        # around 0.05: excess .05, -.15, -.05, .05 -> gains .1 over losses .2
        assert metrics.omega_ratio(RETURNS, threshold=0.05) == pytest.approx(0.5, rel=1e-12)

    def test_var_and_cvar_come_from_the_risk_monitor(self) -> None:
        returns = np.arange(-10, 10) / 100  # -10% .. 9%, 20 points
        # 5th percentile: position .95 between -10% and -9% -> -9.05%; at or below it only -10%
        assert metrics.var_95(returns) == pytest.approx(0.0905, rel=1e-12)
        assert metrics.cvar_95(returns) == pytest.approx(0.10, rel=1e-12)
        assert math.isnan(metrics.var_95(returns[:19]))
        assert math.isnan(metrics.cvar_95(returns[:19]))


class TestTradesByHand:
    def test_trade_metrics(self) -> None:
        assert metrics.num_trades(TRADES) == 5
        assert metrics.win_rate(TRADES) == pytest.approx(2 / 5)  # the break-even trade is no win
        assert metrics.profit_factor(TRADES) == pytest.approx(50 / 30)
        assert metrics.expectancy(TRADES) == pytest.approx(20 / 5)
        assert metrics.avg_holding_time(TRADES) == pytest.approx(3 * 3600)  # 1..5 hours: 3 h on average

    def test_exposure_and_recovery(self) -> None:
        assert metrics.exposure([True, False, True, True]) == 0.75
        assert metrics.exposure(np.array([1, 0, 0, 0])) == 0.25
        # net profit 8.9 over the worst money drawdown 110 - 99 = 11
        assert metrics.recovery_factor(EQUITY) == pytest.approx(8.9 / 11, rel=1e-12)

    def test_money_and_fraction_drawdowns_can_differ(self) -> None:
        # -50% from 20 (10 money), then -10% from 200 (20 money): the money drawdown is the second
        curve = [20.0, 10.0, 200.0, 180.0, 210.0]
        assert metrics.max_drawdown(curve) == pytest.approx(0.5)
        assert metrics.recovery_factor(curve) == pytest.approx(190 / 20)


class TestDegenerate:
    def test_no_trades(self) -> None:
        assert metrics.num_trades([]) == 0
        for metric in (metrics.win_rate, metrics.profit_factor, metrics.expectancy, metrics.avg_holding_time):
            assert math.isnan(metric([]))
        assert math.isnan(metrics.exposure([]))

    def test_all_winners_have_an_infinite_profit_factor(self) -> None:
        winners = [make_trade("10"), make_trade("5", n=1)]
        assert metrics.profit_factor(winners) == math.inf
        assert metrics.win_rate(winners) == 1.0
        assert math.isnan(metrics.profit_factor([make_trade("0")]))
        assert metrics.profit_factor([make_trade("-3")]) == 0.0

    def test_a_flat_curve(self) -> None:
        flat = np.full(30, 100.0)
        returns = metrics.returns_from_equity(flat)
        assert metrics.annual_volatility(returns, periods_per_year=8760) == 0.0
        assert metrics.total_return(returns) == 0.0
        assert metrics.annual_return(returns, periods_per_year=8760) == 0.0
        assert metrics.max_drawdown(flat) == 0.0
        assert metrics.max_drawdown_duration(flat) == 0
        assert metrics.ulcer_index(flat) == 0.0
        assert metrics.var_95(returns) == 0.0
        for value in (
            metrics.sharpe_ratio(returns, periods_per_year=8760),
            metrics.sortino_ratio(returns, periods_per_year=8760),
            metrics.calmar_ratio(returns, periods_per_year=8760),
            metrics.omega_ratio(returns),
            metrics.tail_ratio(returns),
            metrics.recovery_factor(flat),
        ):
            assert math.isnan(value)

    def test_a_curve_that_only_rises_has_infinite_loss_ratios(self) -> None:
        rising = np.array([100.0, 101.0, 103.0, 103.5, 107.0])
        returns = metrics.returns_from_equity(rising)
        assert math.isfinite(metrics.sharpe_ratio(returns, periods_per_year=4))
        assert metrics.sortino_ratio(returns, periods_per_year=4) == math.inf
        assert metrics.calmar_ratio(returns, periods_per_year=4) == math.inf
        assert metrics.omega_ratio(returns) == math.inf
        assert metrics.recovery_factor(rising) == math.inf

    def test_constant_growth_has_no_measurable_risk(self) -> None:
        returns = metrics.returns_from_equity(100.0 * 1.001 ** np.arange(50))
        assert math.isnan(metrics.sharpe_ratio(returns, periods_per_year=8760))

    def test_a_single_bar(self) -> None:
        assert metrics.total_return([]) == 0.0
        assert metrics.max_drawdown([100.0]) == 0.0
        for value in (
            metrics.annual_return([], periods_per_year=8760),
            metrics.annual_volatility([0.01], periods_per_year=8760),
            metrics.sharpe_ratio([0.01], periods_per_year=8760),
            metrics.sortino_ratio([], periods_per_year=8760),
            metrics.calmar_ratio([], periods_per_year=8760),
            metrics.omega_ratio([]),
            metrics.tail_ratio([]),
        ):
            assert math.isnan(value)


class TestBadInput:
    @pytest.mark.parametrize(
        ("equity", "message"),
        [
            ([100.0, math.nan, 101.0], "equity must be finite.*index 1"),
            ([100.0, math.inf], "equity must be finite"),
            ([100.0, 0.0, 101.0], "equity must be positive"),
            ([100.0, -5.0], "equity must be positive"),
            ([], "equity is empty"),
            ([[100.0, 101.0]], "equity must be one-dimensional"),
        ],
    )
    def test_bad_equity(self, equity: list[float], message: str) -> None:
        for metric in (metrics.max_drawdown, metrics.ulcer_index, metrics.returns_from_equity):
            with pytest.raises(MetricsInputError, match=message):
                metric(equity)
        with pytest.raises(ValueError, match=message):
            compute_metrics(equity, trades=[], in_position=[False] * len(equity), periods_per_year=8760)

    def test_bad_returns(self) -> None:
        with pytest.raises(MetricsInputError, match="returns must be finite"):
            metrics.sharpe_ratio([0.01, math.nan], periods_per_year=8760)
        with pytest.raises(MetricsInputError, match="returns must be above -1"):
            metrics.total_return([0.01, -1.0])

    @pytest.mark.parametrize("periods", [0.0, -1.0, math.nan, math.inf])
    def test_bad_periods_per_year(self, periods: float) -> None:
        with pytest.raises(MetricsInputError, match="periods_per_year"):
            metrics.sharpe_ratio(RETURNS, periods_per_year=periods)
        with pytest.raises(MetricsInputError, match="periods_per_year"):
            compute_metrics(EQUITY, trades=[], in_position=[True] * 5, periods_per_year=periods)

    def test_mismatched_position_mask(self) -> None:
        with pytest.raises(MetricsInputError, match="in_position has 4 bars but equity has 5"):
            compute_metrics(EQUITY, trades=[], in_position=[True] * 4, periods_per_year=8760)
        with pytest.raises(MetricsInputError, match="in_position must be boolean"):
            metrics.exposure([0.5, 1.0])


class TestComputeMetrics:
    def test_every_field_is_the_matching_function(self) -> None:
        curve = 1000.0 * metrics.equity_from_returns(np.random.default_rng(3).normal(0.0005, 0.01, 300))
        mask = np.arange(curve.size) % 3 != 0
        result = compute_metrics(curve, trades=TRADES, in_position=mask, periods_per_year=8760)
        returns = metrics.returns_from_equity(curve)
        assert result.total_return == pytest.approx(metrics.total_return(returns), rel=1e-12)
        assert result.sharpe_ratio == metrics.sharpe_ratio(returns, periods_per_year=8760)
        assert result.calmar_ratio == metrics.calmar_ratio(returns, periods_per_year=8760)
        assert result.max_drawdown == metrics.max_drawdown(curve)
        assert result.max_drawdown_duration == metrics.max_drawdown_duration(curve)
        assert result.exposure == pytest.approx(mask.mean())
        assert result.num_trades == 5
        assert result.profit_factor == pytest.approx(50 / 30)
        assert result.var_95 == metrics.var_95(returns)
        assert result.deflated_sharpe_ratio == metrics.deflated_sharpe_ratio(returns, n_trials=1, periods_per_year=8760)
        assert result.pbo is None
        assert result.classification is None

    def test_json_keys_are_the_issue_s(self) -> None:
        result = compute_metrics(EQUITY, trades=[], in_position=[False] * 5, periods_per_year=4)
        keys = [
            "total_return",
            "annual_return",
            "annual_volatility",
            "sharpe_ratio",
            "sortino_ratio",
            "calmar_ratio",
            "max_drawdown",
            "max_drawdown_duration",
            "win_rate",
            "profit_factor",
            "expectancy",
            "recovery_factor",
            "exposure",
            "num_trades",
            "avg_holding_time",
            "var_95",
            "cvar_95",
            "ulcer_index",
            "omega_ratio",
            "tail_ratio",
            "deflated_sharpe_ratio",
            "pbo",
            "classification",
        ]
        as_dict = result.to_dict()
        assert list(as_dict) == keys
        assert isinstance(as_dict["num_trades"], int)
        assert isinstance(as_dict["max_drawdown_duration"], int)
        assert isinstance(as_dict["max_drawdown"], float)
        assert math.isnan(as_dict["win_rate"])
        assert as_dict["pbo"] is None
        decoded = json.loads(json.dumps(as_dict))
        assert decoded["max_drawdown"] == pytest.approx(0.1)
        assert math.isnan(decoded["var_95"])  # 4 returns: below the 20 VaR needs

    def test_a_search_and_a_model(self) -> None:
        rng = np.random.default_rng(11)
        trials = rng.normal(0, 0.01, (400, 8))
        classification = ClassificationMetrics(
            accuracy=0.6, precision=0.5, recall=0.4, f1=0.44, roc_auc=0.7, pr_auc=0.65, mcc=0.2
        )
        curve = metrics.equity_from_returns(trials[:, 0], start=1000.0)
        result = compute_metrics(
            curve,
            trades=[],
            in_position=np.ones(curve.size, dtype=bool),
            periods_per_year=8760,
            n_trials=8,
            trial_returns=trials,
            pbo_blocks=8,
            classification=classification,
        )
        assert result.pbo == metrics.pbo(trials, n_blocks=8)
        sharpes = [metrics.sharpe_ratio(trials[:, i], periods_per_year=8760) for i in range(8)]
        assert result.deflated_sharpe_ratio == pytest.approx(
            metrics.deflated_sharpe_ratio(trials[:, 0], n_trials=8, trial_sharpes=sharpes, periods_per_year=8760),
            rel=1e-9,
        )
        assert result.to_dict()["classification"] == classification.to_dict()
        with pytest.raises(MetricsInputError, match="n_trials"):
            compute_metrics(
                curve, trades=[], in_position=[True] * curve.size, periods_per_year=8760, trial_returns=trials
            )

    def test_the_result_is_frozen(self) -> None:
        result = compute_metrics(EQUITY, trades=[], in_position=[False] * 5, periods_per_year=4)
        assert isinstance(result, BacktestMetrics)
        with pytest.raises(AttributeError):
            result.sharpe_ratio = 1.0


positive_curves = st.lists(st.floats(0.01, 1e6, allow_nan=False), min_size=1, max_size=200).map(np.array)


class TestProperties:
    @settings(max_examples=200, deadline=None)
    @given(positive_curves)
    def test_drawdown_measures_are_bounded(self, curve: np.ndarray) -> None:
        worst = metrics.max_drawdown(curve)
        assert 0.0 <= worst <= 1.0
        ulcer = metrics.ulcer_index(curve)
        assert 0.0 <= ulcer <= worst + 1e-12  # a root-mean-square is at most the maximum
        duration = metrics.max_drawdown_duration(curve)
        assert 0 <= duration <= curve.size - 1
        assert (duration == 0) == (worst == 0.0)

    @settings(max_examples=200, deadline=None)
    @given(
        st.floats(-0.9, 5.0),
        st.sampled_from([Timeframe.M1, Timeframe.H1, Timeframe.D1]),
        st.integers(2, 3000),
    )
    def test_constant_growth_annualises_to_its_rate(self, growth: float, timeframe: Timeframe, bars: int) -> None:
        periods = metrics.periods_per_year(timeframe)
        per_bar = (1.0 + growth) ** (1.0 / periods) - 1.0
        returns = np.full(bars, per_bar)
        assert metrics.annual_return(returns, periods_per_year=periods) == pytest.approx(growth, rel=1e-6, abs=1e-9)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.floats(-0.5, 0.5), min_size=2, max_size=100))
    def test_ratios_are_never_nan_by_accident(self, values: list[float]) -> None:
        returns = np.array(values)
        omega = metrics.omega_ratio(returns)
        assert omega >= 0 or math.isnan(omega)
        assert math.isnan(omega) == bool(np.all(returns == 0))
        tail = metrics.tail_ratio(returns)
        assert tail >= 0 or math.isnan(tail)
