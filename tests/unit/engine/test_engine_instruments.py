"""Two instruments in one account: separate books, one balance, interleaved candles."""

from __future__ import annotations

from decimal import Decimal

from tests.testkit.engine import H, config, fast_path_off
from tests.testkit.instruments import BTCUSD_ID, ETHUSD_ID, btcusd, ethusd
from trading_agent.domain import Candle, OrderIntent, PositionSide, Side
from trading_agent.engine.engine import TradingEngine
from trading_agent.engine.journal import MemoryJournal

D = Decimal


def _session(journal: MemoryJournal) -> TradingEngine:
    engine = TradingEngine(config(default_funding_rate=D("0.0001")), [btcusd(), ethusd()], journal=journal)
    for i in range(30):
        btc, eth = 60000 + 150 * ((i * 7) % 9 - 4), 3000 + 11 * ((i * 5) % 7 - 3)
        engine.on_candle(BTCUSD_ID, Candle(i * H, btc, btc + 200, btc - 200, btc + 50, 500.0))
        engine.on_candle(ETHUSD_ID, Candle(i * H, eth, eth + 15, eth - 15, eth - 4, 900.0))
        if i == 1:
            engine.submit(OrderIntent(instrument=BTCUSD_ID, side=Side.BUY, contracts=20, stop_distance=D(2000)))
            engine.submit(OrderIntent(instrument=ETHUSD_ID, side=Side.SELL, contracts=30, stop_distance=D(60)))
        if i == 15:
            engine.submit(OrderIntent(instrument=ETHUSD_ID, side=Side.BUY, contracts=60))
        engine.commit()
    return engine


def test_two_books_share_one_account_and_survive_a_rebuild() -> None:
    journal = MemoryJournal()
    engine = _session(journal)
    state = engine.portfolio_state()
    assert state.equity == state.cash + state.unrealized_pnl - state.fees - state.funding
    btc, eth = engine.position(BTCUSD_ID), engine.position(ETHUSD_ID)
    assert btc is not None and btc.side is PositionSide.LONG
    assert eth is not None and (eth.side, eth.contracts) == (PositionSide.LONG, 30)  # flipped from short 30
    assert {p.instrument for p in state.positions} == {BTCUSD_ID, ETHUSD_ID}
    # the ETH reversal carried no exits: its old bracket was canceled, BTC's still rests
    assert {o.intent.instrument for o in engine.open_orders()} == {BTCUSD_ID}
    assert engine.open_orders(ETHUSD_ID) == () and len(engine.open_orders(BTCUSD_ID)) == 2
    rebuilt = TradingEngine.rebuild(engine.config, [btcusd(), ethusd()], journal=journal)
    assert rebuilt.snapshot() == engine.snapshot()


def test_with_two_positions_the_fast_path_still_changes_nothing() -> None:
    fast = MemoryJournal()
    _session(fast)
    slow = MemoryJournal()
    with fast_path_off():
        _session(slow)
    assert fast.events == slow.events
