"""An event-driven backtest on real BTC/USDT candles with the shipped trading rules (config/)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tests.testkit.instruments import btcusd
from tests.testkit.services import REPO_ROOT
from trading_agent.backtest.event_runner import run_event_backtest, volatility_arrays
from trading_agent.backtest.strategies import make_strategy
from trading_agent.config.trading_rules import load_trading_rules
from trading_agent.data.files import read_candle_file
from trading_agent.domain import Liquidity, OrderFilled, OrderRole, OrderType, Side, Timeframe
from trading_agent.engine import MemoryJournal, TradingEngine
from trading_agent.engine.decisions import Decision, act
from trading_agent.features import Bars
from trading_agent.risk.sizing import make_sizer
from trading_agent.services.trading_setup import engine_config, sizing_rules


@pytest.mark.real_data
@pytest.mark.parametrize("profile", [None, "swing_trader"])
def test_sma_cross_on_real_candles_under_the_shipped_rules(btc_1h_path: Path, profile: str | None) -> None:
    rules = load_trading_rules(REPO_ROOT / "config", profile)
    frame = read_candle_file(btc_1h_path, Timeframe.H1).iloc[-6000:]  # 2023-10 .. 2024-06, real gaps included
    bars = Bars.from_frame(frame)
    config = engine_config(rules, timeframe=Timeframe.H1, session="real", initial_balance=Decimal(10_000))
    result = run_event_backtest(
        bars,
        make_strategy("sma-cross", {"fast": 20, "slow": 50}),
        instrument=btcusd(),
        config=config,
        sizing=sizing_rules(rules),
    )
    assert len(result.trades) >= 5
    assert result.equity[-1] == pytest.approx(float(result.final_state.equity), rel=1e-12)
    state = result.final_state
    assert state.equity == state.cash + state.unrealized_pnl - state.fees - state.funding
    assert all(t.fees > 0 for t in result.trades)
    benchmark = run_event_backtest(
        bars, make_strategy("buy-hold"), instrument=btcusd(), config=config, sizing=sizing_rules(rules)
    )
    assert benchmark.in_position[1:].all()  # the yardstick holds from the second candle's open to the end


@pytest.mark.real_data
@pytest.mark.parametrize("entries", [OrderType.MARKET, OrderType.LIMIT])
def test_the_backtest_journals_what_feeding_candle_by_candle_does(btc_1h_path: Path, entries: OrderType) -> None:
    """``run_event_backtest`` skips quiet candles (``feed_arrays``); one ``feed`` per candle is the oracle.

    With limit entries (good for 2 candles) too: the candles where a resting entry may fill or expire
    must not be skipped (expiry itself is rare on these candles: see the engine's property tests).
    """
    rules = load_trading_rules(REPO_ROOT / "config", None)
    bars = Bars.from_frame(read_candle_file(btc_1h_path, Timeframe.H1).iloc[-6000:])
    config = engine_config(rules, timeframe=Timeframe.H1, session="real", initial_balance=Decimal(10_000))
    execution = replace(config.execution, entry_order_type=entries, limit_expiry_candles=2)
    config = replace(config, execution=execution)
    strategy = make_strategy("sma-cross", {"fast": 20, "slow": 50})
    batch = run_event_backtest(bars, strategy, instrument=btcusd(), config=config, sizing=sizing_rules(rules))

    journal = MemoryJournal()
    engine = TradingEngine(config, [btcusd()], journal=journal)
    feed, sizer, signals = engine.feed(btcusd().id), make_sizer(sizing_rules(rules)), strategy.signals(bars)
    relative, average, atr = volatility_arrays(bars)

    def known(values: np.ndarray, i: int) -> float | None:
        return None if np.isnan(values[i]) else float(values[i])

    for i in range(len(bars.ts)):
        prices = (float(getattr(bars, column)[i]) for column in ("open", "high", "low", "close", "volume"))
        feed(int(bars.ts[i]), *prices, known(relative, i), known(average, i))
        if signals.entries[i] or signals.exits[i]:
            entry, exit_, stop = int(signals.entries[i]), bool(signals.exits[i]), known(atr, i) or 0.0
            decision = Decision(entry, exit_, float(bars.close[i]), int(bars.ts[i]), stop)
            act(engine, btcusd(), decision, name=strategy.name, sizer=sizer, all_in=False)
        engine.commit(checkpoint=False)
    assert len(batch.trades) >= 5
    assert batch.events == tuple(journal.events)
    assert batch.final_state == engine.portfolio_state()
    if entries is OrderType.LIMIT:  # at its price as maker once reached, or at a better open as taker
        filled = [e for e in batch.events if isinstance(e, OrderFilled) and e.order.intent.role is OrderRole.ENTRY]
        assert {e.fill.liquidity for e in filled} == {Liquidity.MAKER, Liquidity.TAKER}
        for event in filled:
            limit, price = event.order.intent.limit_price, event.fill.price
            assert limit is not None and (price <= limit if event.fill.side is Side.BUY else price >= limit)
