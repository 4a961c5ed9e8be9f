"""The event-driven backtest and the built-in strategies' signals."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from tests.testkit.engine import OPEN_LIMITS
from tests.testkit.features import make_bars, random_walk
from tests.testkit.instruments import btcusd
from trading_agent.backtest.event_runner import run_event_backtest
from trading_agent.backtest.strategies import AnomalyScores, StrategyError, make_strategy, replay_strategy
from trading_agent.domain import (
    AnomalyAction,
    CircuitBreakerReset,
    CircuitBreakerTripped,
    MarketAnomaly,
    OrderFilled,
    OrderRole,
    RiskApproved,
    RiskRejected,
    SizingMethod,
    Timeframe,
)
from trading_agent.engine import EngineConfig
from trading_agent.engine.costs import SlippageModel
from trading_agent.features import Bars
from trading_agent.risk.anomaly import AnomalyRules
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.sizing import SizingRules

D = Decimal
OPEN_BREAKERS = BreakerRules(max_consecutive_losses=1000, rapid_fire_max_trades=1000)
SIZING = SizingRules(method=SizingMethod.FIXED_FRACTIONAL, risk_per_trade=0.05, max_position_size=D(100_000))


def _bars(n: int = 1500, seed: int = 3) -> Bars:
    close = random_walk(n, seed=seed, step=4e-3, level=60_000.0)
    open_ = np.concatenate(([close[0]], close[:-1]))
    wick = np.random.default_rng(seed + 1).uniform(0, 150, n)
    high, low = np.maximum(open_, close) + wick, np.minimum(open_, close) - wick
    return make_bars(close, high, low, open_, volume=np.full(n, 50.0))


def _config(**overrides: object) -> EngineConfig:
    spec: dict[str, object] = {"timeframe": Timeframe.H1, "session": "bt", "default_funding_rate": D("0.0001")}
    return EngineConfig(**(spec | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "params"),
    [("sma-cross", {"fast": 10, "slow": 30}), ("rsi-reversion", {"period": 14}), ("buy-hold", {})],
)
def test_signals_never_look_ahead(name: str, params: dict[str, object]) -> None:
    bars = _bars(600)
    strategy = make_strategy(name, params)
    full = strategy.signals(bars)
    for cut in (strategy.warmup + 5, 250, 599):
        head = Bars(*(getattr(bars, column)[:cut] for column in ("ts", "open", "high", "low", "close", "volume")))
        part = strategy.signals(head)
        np.testing.assert_array_equal(part.entries, full.entries[:cut])
        np.testing.assert_array_equal(part.exits, full.exits[:cut])


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("moon", {}, "unknown strategy 'moon': choose from buy-hold, sma-cross, rsi-reversion"),
        ("sma-cross", {"fast": 50, "slow": 20}, "fast (50) must be shorter than slow (20)"),
        ("sma-cross", {"speed": 3}, "unknown parameter(s) speed (accepted: fast, slow)"),
        ("sma-cross", {"fast": 2.5}, "fast must be a whole number >= 1, got 2.5"),
        ("rsi-reversion", {"lower": 60}, "need lower < 50 < upper"),
    ],
)
def test_bad_strategies_and_parameters_are_refused_by_name(name: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyError) as caught:
        make_strategy(name, params)
    assert message in str(caught.value)


def test_too_few_candles_for_the_warm_up_is_an_error_not_an_empty_result() -> None:
    with pytest.raises(StrategyError, match="needs more than 50 candles for its warm-up, got 40"):
        make_strategy("sma-cross", {"fast": 10, "slow": 50}).signals(_bars(40))


def test_sma_cross_trades_with_stops_through_the_gate_and_the_curve_matches_the_exact_books() -> None:
    bars = _bars()
    result = run_event_backtest(
        bars, make_strategy("sma-cross", {"fast": 10, "slow": 30}), instrument=btcusd(), config=_config(), sizing=SIZING
    )
    assert len(result.trades) > 10
    reasons = {t.exit_reason for t in result.trades}
    assert reasons <= {"stop_loss", "take_profit", "trailing_stop", "time_exit", "reversal"}
    assert "stop_loss" in {t.exit_reason for t in result.trades}  # exits from the rules, not only reversals
    final = float(result.final_state.equity)
    assert result.equity[-1] == pytest.approx(final, rel=1e-12)  # the float curve agrees with the Decimal books
    assert result.equity.shape == bars.close.shape and result.in_position.any() and not result.in_position.all()
    entries = [e for e in result.events if isinstance(e, OrderFilled) and e.order.intent.role is OrderRole.ENTRY]
    assert all(e.fill.fee > 0 for e in entries)


def test_the_risk_gate_applies_in_a_backtest() -> None:
    bars = _bars()
    sizing = SizingRules(method=SizingMethod.FIXED_FRACTIONAL, risk_per_trade=0.10, max_position_size=D(100_000))
    result = run_event_backtest(
        bars,
        make_strategy("sma-cross", {"fast": 3, "slow": 8}),  # whipsaws: more entries than the limits allow
        instrument=btcusd(),
        config=_config(),
        sizing=sizing,
    )
    refused = [e for e in result.events if isinstance(e, RiskRejected)]
    assert result.rejected == len(refused) > 0
    assert {v for e in refused for v in e.violations} & {"time_between_trades", "trades_per_day", "circuit_breaker"}


def test_buy_hold_is_all_equity_long_from_the_first_candle_to_the_last_costs_on() -> None:
    bars = _bars(800)
    config = _config(slippage=SlippageModel(fixed_bps=0, impact_coefficient=0), default_funding_rate=D(0))
    result = run_event_backtest(bars, make_strategy("buy-hold"), instrument=btcusd(), config=config, sizing=SIZING)
    (fill,) = [e.fill for e in result.events if isinstance(e, OrderFilled)]
    assert fill.ts == int(bars.ts[1]) and fill.price == btcusd().round_price(D(repr(float(bars.open[1]))))
    contracts = fill.contracts
    assert contracts * 0.001 * float(fill.price) == pytest.approx(0.98 * 10_000, rel=2e-3)  # 98% of equity at 1x
    expected = 10_000 - float(fill.fee) + contracts * 0.001 * (float(bars.close[-1]) - float(fill.price))
    assert result.equity[-1] == pytest.approx(expected, rel=1e-12)
    assert result.trades == () and result.in_position[1:].all() and not result.in_position[0]


def test_the_curve_at_every_close_is_the_engine_stopped_there_even_across_a_gap_in_the_candles() -> None:
    full = _bars(60, seed=9)
    keep = np.r_[0:29, 33:60]  # day 2 05:00 to 08:00 missing: the 08:00 funding is paid at 09:00
    bars = Bars(*(getattr(full, column)[keep] for column in ("ts", "open", "high", "low", "close", "volume")))
    config = _config(default_funding_rate=D("0.01"))
    result = run_event_backtest(bars, make_strategy("buy-hold"), instrument=btcusd(), config=config, sizing=SIZING)
    for k in (1, 5, 27, 28, 29, 30, 45, len(bars) - 1):
        head = Bars(*(getattr(bars, column)[: k + 1] for column in ("ts", "open", "high", "low", "close", "volume")))
        stopped = run_event_backtest(head, make_strategy("buy-hold"), instrument=btcusd(), config=config, sizing=SIZING)
        assert result.equity[k] == pytest.approx(float(stopped.final_state.equity), rel=1e-12), k


def test_progress_is_reported_up_to_the_last_candle() -> None:
    bars = _bars(25_000, seed=5)
    seen: list[tuple[int, int]] = []
    run_event_backtest(
        bars,
        make_strategy("sma-cross", {"fast": 10, "slow": 30}),
        instrument=btcusd(),
        config=_config(),
        sizing=SIZING,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(0, 25_000), (10_000, 25_000), (20_000, 25_000), (25_000, 25_000)]


@pytest.mark.parametrize("action", [AnomalyAction.BLOCK, AnomalyAction.HALVE])
def test_the_anomaly_filter_acts_on_the_flagged_candles_of_a_strategy(action: AnomalyAction) -> None:
    bars = _bars(400)
    every = bars.ts[50::40]
    entries = np.where(np.arange(len(every)) % 2 == 0, 1, -1)
    flagged = np.arange(len(every)) % 3 == 1  # every third entry comes on a flagged candle
    scores = AnomalyScores(np.where(flagged, 5.0, 0.5), threshold=1.0)
    limits = replace(OPEN_LIMITS, max_consecutive_losses=1000)
    config = _config(anomaly=AnomalyRules(action=action), limits=limits, breakers=OPEN_BREAKERS)
    plain = run_event_backtest(
        bars, replay_strategy("m", every, entries), instrument=btcusd(), config=config, sizing=SIZING
    )
    filtered = run_event_backtest(
        bars, replay_strategy("m", every, entries, scores), instrument=btcusd(), config=config, sizing=SIZING
    )
    flags = [e for e in filtered.events if isinstance(e, MarketAnomaly)]
    assert [e.active for e in flags] == [True, False] * (len(flags) // 2) + [True] * (len(flags) % 2)
    assert not any(isinstance(e, MarketAnomaly) for e in plain.events)
    refused = [e for e in filtered.events if isinstance(e, RiskRejected) and "anomaly" in e.violations]
    halved = [e for e in filtered.events if isinstance(e, RiskApproved) and e.requested_contracts is not None]
    if action is AnomalyAction.BLOCK:
        assert len(refused) == int(flagged.sum()) and not halved
        assert plain.rejected == 0 and filtered.rejected == len(refused)
    else:
        assert halved and not refused
        assert all(e.intent.contracts < (e.requested_contracts or 0) for e in halved)


def test_a_breaker_that_resets_only_by_hand_halts_the_rest_of_a_backtest_and_the_log_says_so() -> None:
    bars = _bars(3000, seed=11)
    streak = 2
    config = _config(
        limits=replace(OPEN_LIMITS, max_consecutive_losses=1000),
        breakers=BreakerRules(max_consecutive_losses=streak, rapid_fire_max_trades=1000),
    )
    result = run_event_backtest(
        bars, make_strategy("sma-cross", {"fast": 3, "slow": 8}), instrument=btcusd(), config=config, sizing=SIZING
    )
    halted = [spell for spell in result.breakers if spell.breaker == "consecutive_losses"]
    assert len(halted) == 1 and halted[0].reset_ms is None
    assert halted[0].reason == f"{streak} consecutive losses (limit {streak})"
    entries = [e for e in result.events if isinstance(e, RiskApproved)]
    assert entries and all(e.ts_event <= halted[0].tripped_ms for e in entries)  # nothing entered after the trip
    refused = [e for e in result.events if isinstance(e, RiskRejected)]
    assert result.refused_by["circuit_breaker"] == len(refused) == result.rejected > 0
    assert list(result.refused_by.values()) == sorted(result.refused_by.values(), reverse=True)


def test_the_risk_log_pairs_each_trip_with_its_reset() -> None:
    bars = _bars()
    config = _config(breakers=replace(OPEN_BREAKERS, volatility_breaker_multiple=1.2))  # trips and clears often
    result = run_event_backtest(
        bars, make_strategy("sma-cross", {"fast": 10, "slow": 30}), instrument=btcusd(), config=config, sizing=SIZING
    )
    trips = [e for e in result.events if isinstance(e, CircuitBreakerTripped)]
    resets = [e for e in result.events if isinstance(e, CircuitBreakerReset)]
    assert len(trips) > 3 and [spell.tripped_ms for spell in result.breakers] == [e.ts_event for e in trips]
    assert [spell.reset_ms for spell in result.breakers if spell.reset_ms is not None] == [e.ts_event for e in resets]
    assert all(spell.reset_ms is None or spell.reset_ms > spell.tripped_ms for spell in result.breakers)
