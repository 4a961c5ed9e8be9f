"""Acting on a decision with ``execution.entry_order_type: limit``: a limit at the close, good for N candles."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from tests.testkit.engine import H, candle, engine, flat, of_type
from tests.testkit.instruments import BTCUSD_ID, btcusd
from trading_agent.domain import Candle, Liquidity, OrderCanceled, OrderFilled, OrderRole, OrderType, Side, SizingMethod
from trading_agent.engine.config import ExecutionRules
from trading_agent.engine.costs import SlippageModel
from trading_agent.engine.decisions import Decision, act
from trading_agent.engine.engine import TradingEngine
from trading_agent.engine.journal import MemoryJournal
from trading_agent.risk.sizing import FixedFractionalSizer, SizingRules

D = Decimal
SIZER = FixedFractionalSizer(SizingRules(method=SizingMethod.FIXED_FRACTIONAL, risk_per_trade=0.05))
LIMIT_ENTRIES = ExecutionRules(entry_order_type=OrderType.LIMIT, limit_expiry_candles=2)
NO_SLIP = SlippageModel(fixed_bps=0, impact_coefficient=0)


def _decide(entry: int, close: float, index: int, *, exit_: bool = False) -> Decision:
    return Decision(entry, exit_, close, index * H, atr=200.0)


def _step(eng: TradingEngine, bar: Candle) -> None:
    eng.on_candle(BTCUSD_ID, bar)
    eng.commit()


def test_a_limit_entry_rests_at_the_close_on_the_tick_and_expires_unfilled() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP, execution=LIMIT_ENTRIES)
    _step(eng, flat(0, 60000.3))
    assert act(eng, btcusd(), _decide(1, 60000.3, 0), name="s", sizer=SIZER) == 0
    (order,) = eng.open_orders()
    intent = order.intent
    assert (intent.order_type, intent.side, intent.limit_price) == (OrderType.LIMIT, Side.BUY, D("60000.0"))
    assert intent.expire_ts == 3 * H  # good for the 2 candles after the decision: canceled at 03:00
    for bar in (candle(1, 60200, 60300, 60100, 60200), candle(2, 60200, 60300, 60100, 60250)):
        _step(eng, bar)  # never back down to 60,000
    (canceled,) = of_type(journal.events, OrderCanceled)
    assert canceled.ts_event == 3 * H and canceled.reason.startswith("expired")
    assert eng.position(BTCUSD_ID) is None and eng.open_orders() == ()


def test_a_limit_entry_fills_as_maker_at_its_price_and_gets_its_bracket_around_the_fill() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP, execution=LIMIT_ENTRIES)
    _step(eng, flat(0, 60000.3))
    act(eng, btcusd(), _decide(-1, 60000.3, 0), name="s", sizer=SIZER)  # a sell: rounded up, to 60,000.5
    _step(eng, candle(1, 59900, 60100, 59800, 60000))  # comes up to 60,000.5 within the candle
    (filled,) = of_type(journal.events, OrderFilled)
    fill = filled.fill
    assert (fill.side, fill.price, fill.liquidity) == (Side.SELL, D("60000.5"), Liquidity.MAKER)
    maker = fill.contracts * D("0.001") * D("60000.5") * D("0.0002") * D("1.18")  # maker fee + GST
    assert fill.fee == maker.quantize(D("1e-8"), rounding=ROUND_CEILING)  # the fee precision, rounded up
    stops = {o.intent.role: o.intent.stop_price or o.intent.limit_price for o in eng.open_orders()}
    assert stops[OrderRole.STOP_LOSS] > D("60000.5") > stops[OrderRole.TAKE_PROFIT]  # around the fill


def test_a_limit_already_through_at_the_open_fills_there_and_exits_and_buy_hold_stay_market() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP, execution=LIMIT_ENTRIES)
    _step(eng, flat(0, 60000))
    act(eng, btcusd(), _decide(1, 60000, 0), name="s", sizer=SIZER)
    _step(eng, candle(1, 59800, 59900, 59700, 59850))  # opens below the buy limit
    (filled,) = of_type(journal.events, OrderFilled)
    assert (filled.fill.price, filled.fill.liquidity) == (D(59800), Liquidity.TAKER)  # better than the limit
    act(eng, btcusd(), _decide(0, 59850, 1, exit_=True), name="s", sizer=SIZER)
    exits = [o.intent for o in eng.open_orders() if o.intent.role is OrderRole.EXIT]
    assert [(i.order_type, i.reduce_only, i.expire_ts) for i in exits] == [(OrderType.MARKET, True, None)]
    yardstick = engine(MemoryJournal(), slippage=NO_SLIP, execution=LIMIT_ENTRIES)
    _step(yardstick, flat(0, 60000))
    act(yardstick, btcusd(), _decide(1, 60000, 0), name="buy-hold", sizer=SIZER, all_in=True)
    assert [o.intent.order_type for o in yardstick.open_orders()] == [OrderType.MARKET]
