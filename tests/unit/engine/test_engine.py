"""The stateful engine, by hand: fills, brackets, the intrabar rule, liquidation, funding, exits, the gate."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pytest

from tests.testkit.engine import (
    H,
    buy,
    candle,
    config,
    engine,
    flat,
    of_type,
    sell,
)
from tests.testkit.instruments import BTCUSD_ID, btcusd
from trading_agent.domain import (
    Candle,
    CircuitBreakerReset,
    CircuitBreakerTripped,
    ClientOrderId,
    DomainError,
    Event,
    FundingApplied,
    InstrumentId,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderFillRefused,
    OrderIntent,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionClosed,
    PositionLiquidated,
    PositionSide,
    RiskRejected,
    Side,
)
from trading_agent.engine.config import ExecutionRules
from trading_agent.engine.costs import SlippageModel
from trading_agent.engine.engine import (
    AmendRejectedError,
    CandleInputError,
    DuplicateClientOrderIdError,
    OrderNotOpenError,
    StaleCandleError,
    TradingEngine,
)
from trading_agent.engine.errors import EngineError
from trading_agent.engine.exits import ExitRules
from trading_agent.engine.funding import FundingSeries
from trading_agent.engine.journal import EngineFailedError, JournalWriteError, MemoryJournal
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits

D = Decimal
NO_SLIP = SlippageModel(fixed_bps=0, impact_coefficient=0)
FEE_RATE = D("0.0005") * D("1.18")  # taker fee with 18% GST


def _events(journal: MemoryJournal) -> list[Event]:
    return journal.events


def _feed(eng: TradingEngine, candles: Sequence[Candle]) -> None:
    for bar in candles:
        eng.on_candle(BTCUSD_ID, bar)
        eng.commit()


def test_market_order_fills_at_the_next_open_plus_slippage_with_the_fee_and_gst_by_hand() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=SlippageModel(fixed_bps=2, impact_coefficient=0))
    _feed(eng, [flat(0, 59000)])
    order = eng.submit(buy(10))
    assert order.status is OrderStatus.ACCEPTED and eng.position(BTCUSD_ID) is None  # not before the next open
    _feed(eng, [candle(1, 60000, 60100, 59900, 60050)])
    (filled,) = of_type(journal.events, OrderFilled)
    # 60,000 x 1.0002 = 60,012 (on the 0.5 tick); fee 10 x 0.001 x 60,012 x 0.0005 x 1.18
    assert (filled.fill.price, filled.fill.fee, filled.fill.ts) == (D(60012), D("0.3540708"), H)
    position = eng.position(BTCUSD_ID)
    assert position is not None and (position.side, position.contracts, position.entry_price) == (
        PositionSide.LONG,
        10,
        D(60012),
    )
    state = eng.portfolio_state()
    # marked at the close 60,050: uPnL 10 x 0.001 x 38 = 0.38
    assert state.unrealized_pnl == D("0.380") and state.equity == D(10000) + D("0.38") - D("0.3540708")


def test_stop_distance_places_a_bracket_and_the_target_fills_when_only_it_is_reached() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10, stop_distance=D(500)))
    _feed(eng, [flat(1, 60000)])
    roles = {o.intent.role: o for o in eng.open_orders()}
    assert roles[OrderRole.STOP_LOSS].intent.stop_price == D(59500)
    assert roles[OrderRole.TAKE_PROFIT].intent.limit_price == D(61000)  # 2R
    _feed(eng, [candle(2, 60000, 61200, 59600, 61100)])
    (closed,) = of_type(journal.events, PositionClosed)
    assert (closed.trade.exit_reason, closed.trade.exit_price) == ("take_profit", D(61000))
    assert eng.open_orders() == ()  # the stop was canceled with the position (one cancels the other)
    # 10 x 0.001 x 1,000 = 10, less the taker entry fee and the maker exit fee (0.02% + GST)
    fees = D(600) * FEE_RATE + D(610) * D("0.0002") * D("1.18")
    assert closed.trade.pnl == D(10) - fees


def test_stop_and_target_touched_in_one_candle_assume_the_stop_came_first() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10, stop_distance=D(500)))
    _feed(eng, [flat(1, 60000), candle(2, 60000, 61500, 59000, 61400)])
    (closed,) = of_type(journal.events, PositionClosed)
    assert (closed.trade.exit_reason, closed.trade.exit_price) == ("stop_loss", D(59500))


def test_short_bracket_mirrors_the_long() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(sell(10, stop_distance=D(500)))
    _feed(eng, [flat(1, 60000), candle(2, 60000, 60600, 58900, 59000)])
    (closed,) = of_type(journal.events, PositionClosed)
    # a short's adverse extreme is the high: the stop at 60,500 comes first
    assert (closed.trade.side, closed.trade.exit_reason, closed.trade.exit_price) == (
        PositionSide.SHORT,
        "stop_loss",
        D(60500),
    )


def test_liquidation_by_hand_loses_the_margin_at_the_bankruptcy_price() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(100, leverage=D(10), stop_distance=D(7000)))
    _feed(eng, [flat(1, 60000)])
    position = eng.position(BTCUSD_ID)
    assert position is not None and (position.margin, position.liquidation_price) == (D(600), D("54135.5"))
    _feed(eng, [candle(2, 59000, 59000, 54100, 54500)])  # reaches 54,135.5 before the stop at 53,000
    (liquidated,) = of_type(journal.events, PositionLiquidated)
    trade = liquidated.trade
    assert (trade.exit_reason, trade.exit_price) == ("liquidation", D(54000))
    assert trade.pnl == D(-600) - D(6000) * FEE_RATE  # the margin, plus the entry fee; no fee on liquidation
    assert eng.position(BTCUSD_ID) is None and eng.open_orders() == ()
    canceled = of_type(journal.events, OrderCanceled)
    assert [c.reason for c in canceled] == ["position liquidated", "position liquidated"]  # stop and target


def test_a_gap_through_the_bankruptcy_price_still_costs_only_the_margin() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(100, leverage=D(10)))
    _feed(eng, [flat(1, 60000), candle(2, 50000, 50500, 49000, 50200)])
    (liquidated,) = of_type(journal.events, PositionLiquidated)
    assert liquidated.trade.exit_price == D(54000) and liquidated.trade.pnl == D(-600) - D(6000) * FEE_RATE


def test_funding_is_paid_at_the_settlement_from_the_series_or_the_constant_and_comes_out_of_margin() -> None:
    journal = MemoryJournal()
    series = FundingSeries(timestamps=np.array([8 * H]), rates=np.array([-0.0002]), default_rate=D(0))
    eng = TradingEngine(
        config(slippage=NO_SLIP, default_funding_rate=D("0.0001")),
        [btcusd()],
        journal=journal,
        funding={BTCUSD_ID: series},
    )
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(100))
    _feed(eng, [flat(i, 60000) for i in range(1, 8)])
    assert of_type(journal.events, FundingApplied) == []
    _feed(eng, [candle(8, 61000, 61000, 60000, 60500)])  # the 08:00 settlement, on the open 61,000
    (first,) = of_type(journal.events, FundingApplied)
    # the series says -0.02%: a long RECEIVES 100 x 0.001 x 61,000 x 0.0002 = 1.22
    assert (first.ts_event, first.rate.rate, first.amount) == (8 * H, -0.0002, D("-1.22"))
    _feed(eng, [flat(i, 60000) for i in range(9, 17)])
    second = of_type(journal.events, FundingApplied)[1]
    # 16:00 is not in the series: the constant 0.01% applies, the long pays 100 x 0.001 x 60,000 x 0.0001
    assert (second.ts_event, second.amount) == (16 * H, D("0.6"))
    position = eng.position(BTCUSD_ID)
    assert position is not None and position.funding == D("-0.62")
    assert position.margin == D(6000) + D("0.62")  # isolated margin pays (and receives) funding
    state = eng.portfolio_state()
    assert state.equity == state.cash + state.unrealized_pnl - state.fees - state.funding
    assert state.funding == D("-0.62")


def test_funding_that_eats_the_whole_margin_liquidates_at_once() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP, default_funding_rate=D("0.2"))
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(100, leverage=D(10)))
    _feed(eng, [flat(i, 60000) for i in range(1, 9)])
    # 08:00: 100 x 0.001 x 60,000 x 0.2 = 1,200 USD of funding against 600 of margin
    (funding,) = of_type(journal.events, FundingApplied)
    (liquidated,) = of_type(journal.events, PositionLiquidated)
    assert funding.amount == D(1200) and liquidated.ts_event == 8 * H
    assert liquidated.trade.exit_price == D(60000) and liquidated.trade.funding == D(1200)
    assert eng.position(BTCUSD_ID) is None


def test_a_position_in_profit_outlives_a_margin_that_funding_overdrew_until_the_mark_reaches_its_liquidation() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP, default_funding_rate=D("0.7"))
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(100))  # 1x: 6,000 of margin
    _feed(eng, [flat(1, 60000), *(flat(i, 120000) for i in range(2, 9))])
    # 08:00 on the open 120,000: 100 x 0.001 x 120,000 x 0.7 = 8,400 paid, the margin is -2,400,
    # but margin + uPnL = -2,400 + 6,000 is far above the maintenance margin (30): no liquidation
    (funding,) = of_type(journal.events, FundingApplied)
    position = eng.position(BTCUSD_ID)
    assert funding.amount == D(8400) and position is not None
    assert position.margin == D(-2400) and position.liquidation_price == D("84211.0")  # test_margin's case
    _feed(eng, [candle(9, 120000, 120000, 84500, 85000)])  # above the liquidation price: still open
    assert eng.position(BTCUSD_ID) is not None and of_type(journal.events, PositionLiquidated) == []
    _feed(eng, [candle(10, 85000, 85000, 84000, 84100)])
    (liquidated,) = of_type(journal.events, PositionLiquidated)
    trade = liquidated.trade
    assert liquidated.ts_event == 10 * H and trade.exit_price == D(84000)  # the bankruptcy price
    assert trade.funding == D(8400) and trade.pnl == D(2400) - D(8400) - D(6000) * FEE_RATE  # the margin lost
    state = eng.portfolio_state()
    assert state.equity == D(10000) + trade.pnl and state.equity == state.cash - state.fees - state.funding


def test_a_good_till_order_is_canceled_at_the_first_close_at_or_after_its_time_unless_it_filled() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    resting = eng.submit(buy(10, order_type=OrderType.LIMIT, limit_price=D(59000), expire_ts=3 * H))
    touched = eng.submit(buy(5, order_type=OrderType.LIMIT, limit_price=D(59500), expire_ts=3 * H))
    _feed(eng, [candle(1, 60000, 60100, 59400, 59900)])  # reaches 59,500, not 59,000; closes at 02:00
    assert of_type(journal.events, OrderCanceled) == []
    _feed(eng, [candle(2, 59900, 60000, 59600, 59800)])  # closes at 03:00, the good-till time
    (canceled,) = of_type(journal.events, OrderCanceled)
    assert canceled.order.id == resting.id and canceled.ts_event == 3 * H
    assert canceled.reason == f"expired: not filled by {3 * H}"
    (filled,) = of_type(journal.events, OrderFilled)
    assert filled.order.id == touched.id and filled.fill.price == D(59500) and filled.fill.contracts == 5
    assert [order.id for order in eng.open_orders()] == []
    with pytest.raises(DomainError, match="expire_ts must be a positive"):
        buy(1, order_type=OrderType.LIMIT, limit_price=D(59000), expire_ts=0)


def test_trailing_stop_by_hand() -> None:
    journal = MemoryJournal()
    exits = ExitRules(trailing_activation_percent=2.0, trailing_percent=1.0, time_exit_enabled=False)
    eng = engine(journal, slippage=NO_SLIP, exits=exits)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10))
    _feed(eng, [flat(1, 60000), candle(2, 60000, 61199, 60000, 61000)])
    assert eng.open_orders() == ()  # 61,199 < 61,200: not active yet
    _feed(eng, [candle(3, 61000, 61200, 60900, 61100)])
    (trail,) = eng.open_orders()
    assert (trail.intent.role, trail.intent.stop_price) == (OrderRole.TRAILING_STOP, D(60588))  # 61,200 x 0.99
    _feed(eng, [candle(4, 61100, 61500, 61000, 61400)])
    (moved,) = of_type(journal.events, OrderAmended)
    assert moved.order.intent.stop_price == D("60885") and moved.reason == "trailing stop moved to 60885.0"
    _feed(eng, [candle(5, 61400, 61450, 61000, 61300)])  # a lower high never loosens it
    assert eng.open_orders()[0].intent.stop_price == D(60885)
    _feed(eng, [candle(6, 61300, 61350, 60800, 60900)])
    (closed,) = of_type(journal.events, PositionClosed)
    assert (closed.trade.exit_reason, closed.trade.exit_price) == ("trailing_stop", D(60885))


def test_time_exit_closes_at_the_first_open_after_the_holding_period() -> None:
    journal = MemoryJournal()
    exits = ExitRules(trailing_enabled=False, max_holding_period_s=2 * 3600)
    eng = engine(journal, slippage=NO_SLIP, exits=exits)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10))
    _feed(eng, [flat(1, 60000)])  # opened at 01:00
    _feed(eng, [flat(2, 60100)])  # closes at 03:00 = the deadline: the exit is placed
    (exit_order,) = eng.open_orders()
    assert (exit_order.intent.role, exit_order.intent.order_type) == (OrderRole.TIME_EXIT, OrderType.MARKET)
    _feed(eng, [flat(3, 60200)])
    (closed,) = of_type(journal.events, PositionClosed)
    assert (closed.trade.exit_reason, closed.trade.ts_opened, closed.trade.ts_closed) == ("time_exit", H, 3 * H)
    assert closed.trade.exit_price == D(60200)


def test_the_same_client_order_id_makes_one_order() -> None:
    journal = MemoryJournal()
    eng = engine(journal)
    _feed(eng, [flat(0, 60000)])
    intent = buy(10, client_order_id=ClientOrderId("sig-1"))
    first, second = eng.submit(intent), eng.submit(intent)
    assert first == second and len(eng.open_orders()) == 1
    with pytest.raises(DuplicateClientOrderIdError, match="sig-1"):
        eng.submit(buy(11, client_order_id=ClientOrderId("sig-1")))
    assert eng.order("sig-1") == first


def test_a_5000_usd_order_on_10000_with_a_25_percent_cap_is_rejected_for_position_size() -> None:
    journal = MemoryJournal()
    eng = engine(journal, limits=RiskLimits())  # the blueprint's limits
    _feed(eng, [flat(0, 50000)])
    order = eng.submit(buy(100))  # 100 x 0.001 x 50,000 = 5,000 USD
    (rejected,) = of_type(eng.commit(), RiskRejected)
    assert rejected.violations == ("position_size",)
    assert order.status is OrderStatus.REJECTED and order.reject_reason is not None
    assert "exceeds 25% of equity (2500.00 USD)" in order.reject_reason


@pytest.mark.parametrize(
    ("intent", "reason"),
    [
        (buy(1, limit_price=D("60000.3"), order_type=OrderType.LIMIT), "not a multiple of the tick 0.5"),
        (buy(1, leverage=D(50)), "risk: leverage 50x exceeds the allowed 10x"),
        (buy(1, role=OrderRole.LIQUIDATION), "reserved for orders the engine places itself"),
        (buy(1, stop_loss=D(61000)), "stop_loss 61000 must be below the entry price 60000"),
        (sell(1, reduce_only=True), "does not shrink a position"),
        (
            OrderIntent(instrument=InstrumentId("delta_india", "DOGEUSD"), side=Side.BUY, contracts=1),
            "unknown instrument delta_india:DOGEUSD",
        ),
    ],
    ids=["off-tick", "leverage", "reserved-role", "stop-above-entry", "reduce-only-flat", "unknown-instrument"],
)
def test_bad_orders_are_rejected_with_a_reason_and_never_fill(intent: object, reason: str) -> None:
    journal = MemoryJournal()
    eng = engine(journal)
    _feed(eng, [flat(0, 60000)])
    order = eng.submit(intent)  # type: ignore[arg-type]
    assert order.status is OrderStatus.REJECTED and order.reject_reason is not None and reason in order.reject_reason
    _feed(eng, [candle(i, 60000, 62000, 58000, 60000) for i in range(1, 4)])
    assert of_type(journal.events, OrderFilled) == []


@pytest.mark.parametrize(
    "fields",
    [{"contracts": 0}, {"contracts": -3}, {"limit_price": D("NaN"), "order_type": OrderType.LIMIT}],
    ids=["zero", "negative", "nan-price"],
)
def test_impossible_intents_cannot_even_be_built(fields: dict[str, object]) -> None:
    spec = {"contracts": 1} | fields
    contracts = spec.pop("contracts")
    with pytest.raises(DomainError):
        buy(contracts, **spec)  # type: ignore[arg-type]


def test_cancel_and_amend_a_resting_order() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    order = eng.submit(buy(10, order_type=OrderType.LIMIT, limit_price=D(59000)))
    amended = eng.amend(order.id, limit_price=D(59500), contracts=12)
    assert (amended.intent.limit_price, amended.intent.contracts) == (D(59500), 12)
    with pytest.raises(AmendRejectedError, match="not a multiple of the tick"):
        eng.amend(order.id, limit_price=D("59500.2"))
    with pytest.raises(AmendRejectedError, match="has no stop_price"):
        eng.amend(order.id, stop_price=D(59000))
    _feed(eng, [candle(1, 60000, 60100, 59400, 59800)])
    (filled,) = of_type(journal.events, OrderFilled)
    assert (filled.fill.price, filled.fill.contracts, filled.fill.liquidity.value) == (D(59500), 12, "maker")
    with pytest.raises(OrderNotOpenError, match="filled"):
        eng.cancel(order.id)
    resting = eng.submit(sell(12, order_type=OrderType.LIMIT, limit_price=D(70000), reduce_only=True))
    canceled = eng.cancel(resting.id, reason="changed my mind")
    assert canceled.status is OrderStatus.CANCELED
    assert of_type(eng.commit(), OrderCanceled)[-1].reason == "changed my mind"


def test_a_fill_worse_than_the_max_slippage_is_refused_retried_then_canceled() -> None:
    journal = MemoryJournal()
    eng = engine(
        journal,
        slippage=SlippageModel(fixed_bps=2, impact_coefficient=0),
        execution=ExecutionRules(max_slippage_percent=D("0.01"), max_retries=2),
    )
    _feed(eng, [flat(0, 60000)])
    order = eng.submit(buy(10))
    _feed(eng, [candle(i, 60000, 60100, 59900, 60000) for i in range(1, 5)])
    refused = of_type(journal.events, OrderFillRefused)
    assert [r.attempt for r in refused] == [1, 2, 3]
    assert "0.0200% worse than reference 60000" in refused[0].reason
    assert eng.order(order.id).status is OrderStatus.CANCELED and of_type(journal.events, OrderFilled) == []


def test_a_fill_the_margin_cannot_carry_is_refused_and_canceled() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    order = eng.submit(buy(160))  # 9,600 USD of margin at 1x: approved
    assert order.status is OrderStatus.ACCEPTED
    _feed(eng, [flat(1, 65000)])  # 10,400 USD at the open: more than the balance
    (refused,) = of_type(journal.events, OrderFillRefused)
    assert refused.reason.startswith("insufficient margin: the fill needs 10406.14 USD")
    assert eng.order(order.id).status is OrderStatus.CANCELED and eng.position(BTCUSD_ID) is None


def test_an_opposite_entry_flips_the_position_and_moves_the_bracket_to_the_new_side() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10, stop_distance=D(500)))
    _feed(eng, [flat(1, 60000)])
    eng.submit(sell(30, stop_distance=D(400)))
    _feed(eng, [flat(2, 60200)])
    position = eng.position(BTCUSD_ID)
    assert position is not None and (position.side, position.contracts) == (PositionSide.SHORT, 20)
    (closed,) = of_type(journal.events, PositionClosed)
    assert closed.trade.exit_reason == "reversal"
    stops = {o.intent.role: (o.intent.side.value, o.intent.contracts) for o in eng.open_orders()}
    assert stops == {OrderRole.STOP_LOSS: ("buy", 20), OrderRole.TAKE_PROFIT: ("buy", 20)}
    assert {o.intent.stop_price or o.intent.limit_price for o in eng.open_orders()} == {D(60600), D(59400)}


def test_a_reduce_only_exit_shrinks_the_position_and_the_bracket_follows() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10, stop_distance=D(500)))
    _feed(eng, [flat(1, 60000)])
    eng.submit(sell(4, reduce_only=True, role=OrderRole.EXIT))
    _feed(eng, [flat(2, 60300)])
    position = eng.position(BTCUSD_ID)
    assert position is not None and position.contracts == 6
    assert {o.intent.contracts for o in eng.open_orders()} == {6}
    assert {a.reason for a in of_type(journal.events, OrderAmended)} == {"resized to the position"}


def test_a_triggered_stop_limit_rests_as_a_limit_when_its_limit_is_not_reachable_at_the_trigger() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    order = eng.submit(buy(5, order_type=OrderType.STOP_LIMIT, stop_price=D(60500), limit_price=D(60400)))
    _feed(eng, [candle(1, 60000, 60600, 59900, 60550)])  # triggered at 60,500 on the way up; 60,400 is below
    assert eng.order(order.id).intent.order_type is OrderType.LIMIT and of_type(journal.events, OrderFilled) == []
    _feed(eng, [candle(2, 60550, 60600, 60300, 60450)])
    (filled,) = of_type(journal.events, OrderFilled)
    assert (filled.fill.price, filled.fill.liquidity.value) == (D(60400), "maker")


def test_an_entry_filled_inside_a_candle_can_be_stopped_in_it_but_takes_no_profit_in_it() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10, order_type=OrderType.LIMIT, limit_price=D(59800), stop_distance=D(100)))
    _feed(eng, [candle(1, 60000, 60500, 59800, 60400)])  # fills at 59,800; target 60,000 touched later: ignored
    assert eng.position(BTCUSD_ID) is not None and of_type(journal.events, PositionClosed) == []
    _feed(eng, [candle(2, 60400, 60500, 60300, 60450)])  # the next candle takes the target (gapped: at the open)
    (closed,) = of_type(journal.events, PositionClosed)
    assert (closed.trade.exit_reason, closed.trade.exit_price) == ("take_profit", D(60400))
    journal2 = MemoryJournal()
    eng2 = engine(journal2, slippage=NO_SLIP)
    _feed(eng2, [flat(0, 60000)])
    eng2.submit(buy(10, order_type=OrderType.LIMIT, limit_price=D(59800), stop_distance=D(100)))
    _feed(eng2, [candle(1, 60000, 60500, 59600, 60400)])  # falls on to 59,600: the fresh stop at 59,700 fires
    (stopped,) = of_type(journal2.events, PositionClosed)
    assert (stopped.trade.exit_reason, stopped.trade.exit_price) == ("stop_loss", D(59700))


def test_consecutive_losses_trip_the_breaker_which_blocks_entries_and_survives_a_rebuild() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP, breakers=BreakerRules(max_consecutive_losses=2))
    _feed(eng, [flat(0, 60000)])
    for i in (1, 3):
        eng.submit(buy(10, stop_distance=D(100)))
        _feed(eng, [flat(i, 60000), candle(i + 1, 60000, 60000, 59800, 59850)])
    assert len(eng.trades) == 2 and all(t.pnl < 0 for t in eng.trades)
    (tripped,) = of_type(journal.events, CircuitBreakerTripped)
    assert tripped.breaker == "consecutive_losses"
    order = eng.submit(buy(1))
    (rejected,) = of_type(eng.commit(), RiskRejected)
    assert order.status is OrderStatus.REJECTED and rejected.violations == ("circuit_breaker",)
    rebuilt = TradingEngine.rebuild(eng.config, [btcusd()], journal=journal)
    assert rebuilt.tripped_breakers == eng.tripped_breakers and rebuilt.snapshot() == eng.snapshot()
    rebuilt.reset_breaker("consecutive_losses", "reviewed by a person")
    assert rebuilt.submit(buy(1)).status is OrderStatus.ACCEPTED


def test_resetting_the_drawdown_breaker_restarts_the_peak_so_trading_can_resume() -> None:
    journal = MemoryJournal()
    limits = RiskLimits(max_position_fraction=1.0, max_drawdown_percent=1.0, min_time_between_trades_s=0)
    eng = engine(journal, slippage=NO_SLIP, limits=limits, breakers=BreakerRules(max_drawdown_percent=1.0))
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(100))
    _feed(eng, [flat(1, 60000), flat(2, 58900), flat(3, 58900)])
    assert eng.tripped_breakers.keys() == {"drawdown"}
    refused = eng.submit(sell(1))
    assert refused.status is OrderStatus.REJECTED and refused.reject_reason is not None
    assert "drawdown" in refused.reject_reason and "circuit breakers tripped" in refused.reject_reason
    eng.reset_breaker("drawdown", "reviewed by a person")
    assert eng.portfolio_state().drawdown == 0 and eng.submit(sell(1)).status is OrderStatus.ACCEPTED
    eng.commit()
    assert TradingEngine.rebuild(eng.config, [btcusd()], journal=journal).snapshot() == eng.snapshot()


def test_a_drawdown_breaker_with_auto_reset_after_s_resets_itself_then_and_not_before() -> None:
    journal = MemoryJournal()
    limits = RiskLimits(max_position_fraction=1.0, max_drawdown_percent=1.0, min_time_between_trades_s=0)
    breakers = BreakerRules(max_drawdown_percent=1.0, auto_reset_after_s=3 * 3600)
    eng = engine(journal, slippage=NO_SLIP, limits=limits, breakers=breakers)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(100))
    _feed(eng, [flat(1, 60000), flat(2, 58900)])  # tripped at the close of 02:00-03:00
    (tripped,) = of_type(journal.events, CircuitBreakerTripped)
    assert tripped.breaker == "drawdown" and tripped.ts_event == 3 * H
    assert eng._state.books[BTCUSD_ID].wake_ts == 5 * H  # the candle closing at 06:00, three hours on
    _feed(eng, [flat(3, 58900), flat(4, 58900)])
    assert eng.tripped_breakers.keys() == {"drawdown"} and eng.submit(sell(1)).status is OrderStatus.REJECTED
    _feed(eng, [flat(5, 58900)])
    (reset,) = of_type(journal.events, CircuitBreakerReset)
    assert reset.ts_event == 6 * H and reset.reason == "10800s passed since the trip (auto_reset_after_s)"
    assert eng.tripped_breakers == {} and eng.portfolio_state().drawdown == 0  # the peak restarts, as by hand
    assert eng.submit(sell(1)).status is OrderStatus.ACCEPTED
    eng.commit()
    assert TradingEngine.rebuild(eng.config, [btcusd()], journal=journal).snapshot() == eng.snapshot()


def test_a_halted_engine_only_wakes_when_a_breaker_could_clear() -> None:
    eng = engine(breakers=BreakerRules(rapid_fire_max_trades=2, rapid_fire_window_s=3 * 3600))
    _feed(eng, [flat(0, 60000)])
    for i in (1, 2):
        eng.submit(buy(1))
        _feed(eng, [flat(i, 60000)])
    assert eng.tripped_breakers.keys() == {"rapid_fire"}
    book = eng._state.books[BTCUSD_ID]
    assert book.wake_ts == 4 * H - H  # the first entry (01:00) leaves the 3 h window at the close of 03:00-04:00
    _feed(eng, [flat(3, 60000)])
    assert eng.tripped_breakers == {}


def test_a_tripped_breaker_flattens_when_told_to() -> None:
    journal = MemoryJournal()
    breakers = BreakerRules(max_drawdown_percent=1.0, flatten_on_trip=True)
    eng = engine(journal, slippage=NO_SLIP, breakers=breakers)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(100))
    eng.submit(buy(1, order_type=OrderType.LIMIT, limit_price=D(50000)))
    _feed(eng, [flat(1, 60000), flat(2, 58900)])  # 100 x 0.001 x -1,100 = -110 USD: a 1.1% drawdown
    (tripped,) = of_type(journal.events, CircuitBreakerTripped)
    assert tripped.breaker == "drawdown"
    roles = [o.intent.role for o in eng.open_orders()]
    assert roles == [OrderRole.FLATTEN]  # the resting entry was canceled
    _feed(eng, [flat(3, 59000)])
    assert eng.position(BTCUSD_ID) is None and eng.trades[-1].exit_reason == "flatten"


def test_impossible_stale_and_duplicate_candles_are_refused_and_change_nothing() -> None:
    eng = engine()
    _feed(eng, [flat(0, 60000), flat(1, 60000)])
    before = eng.snapshot()
    feed = eng.feed(BTCUSD_ID)
    for bad in ((2 * H, 60000, 59000, 61000, 60000, 1), (2 * H, float("nan"), 1, 1, 1, 1), (2 * H, 1, 2, 1, 1, -1)):
        with pytest.raises(CandleInputError, match="impossible prices or volume"):
            feed(*bad)
    with pytest.raises(StaleCandleError, match="is not after the last one processed"):
        eng.on_candle(BTCUSD_ID, flat(1, 60000))
    assert eng.snapshot() == before


class _Recorder:
    def __init__(self) -> None:
        self.batches: list[list[Event]] = []

    def publish(self, events: Sequence[Event]) -> None:
        self.batches.append(list(events))


class _BrokenJournal(MemoryJournal):
    def append(self, events: Sequence[Event]) -> int:
        raise OSError("disk full")


def test_events_are_journaled_in_one_batch_before_they_are_announced() -> None:
    journal, recorder = MemoryJournal(), _Recorder()
    eng = TradingEngine(config(), [btcusd()], journal=journal, publishers=[recorder])
    eng.on_candle(BTCUSD_ID, flat(0, 60000))
    eng.submit(buy(1))
    assert journal.events == [] and recorder.batches == []  # nothing leaves before the commit
    step = eng.commit()
    assert journal.events == step and recorder.batches == [step]
    assert type(step[-1]).__name__ == "EquitySnapshotTaken"


def test_a_journal_failure_announces_nothing_and_stops_the_engine() -> None:
    recorder = _Recorder()
    eng = TradingEngine(config(), [btcusd()], journal=_BrokenJournal(), publishers=[recorder])
    eng.on_candle(BTCUSD_ID, flat(0, 60000))
    with pytest.raises(JournalWriteError, match="disk full"):
        eng.commit()
    assert recorder.batches == []
    with pytest.raises(EngineFailedError):
        eng.submit(buy(1))
    with pytest.raises(EngineFailedError):
        eng.on_candle(BTCUSD_ID, flat(1, 60000))


def test_the_engine_rebuilt_from_its_journal_is_identical_and_goes_on_identically() -> None:
    journal = MemoryJournal()
    exits = ExitRules(trailing_activation_percent=1.0, trailing_percent=0.5, max_holding_period_s=6 * 3600)
    eng = engine(journal, exits=exits, default_funding_rate=D("0.0001"))
    prices = [60000 + 300 * ((i * 7) % 11 - 5) for i in range(40)]
    for i, price in enumerate(prices[:25]):
        eng.on_candle(BTCUSD_ID, candle(i, price, price + 400, price - 400, price + 100))
        if i % 4 == 1:
            eng.submit((buy if i % 8 == 1 else sell)(5, stop_distance=D(600)))
        eng.commit()
    assert eng.trades  # the scenario really trades
    rebuilt = TradingEngine.rebuild(eng.config, [btcusd()], journal=journal)
    assert rebuilt.snapshot() == eng.snapshot()
    steps: dict[str, list[Event]] = {"original": [], "rebuilt": []}
    for name, each in (("original", eng), ("rebuilt", rebuilt)):
        for i, price in enumerate(prices[25:], start=25):
            each.on_candle(BTCUSD_ID, candle(i, price, price + 400, price - 400, price + 100))
            steps[name].extend(each.commit())
    assert steps["original"] and steps["original"] == steps["rebuilt"]
    assert rebuilt.snapshot() == eng.snapshot()


def test_a_journal_that_repeats_a_fill_is_refused_on_rebuild() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10))
    _feed(eng, [flat(1, 60000), flat(2, 60100)])
    (filled,) = of_type(journal.events, OrderFilled)
    tampered = MemoryJournal()
    tampered.events = [*journal.events, filled]
    with pytest.raises(EngineError, match="not allowed in status filled"):
        TradingEngine.rebuild(eng.config, [btcusd()], journal=tampered)


def test_a_reduce_only_exit_larger_than_the_position_fills_the_position_and_cancels_the_rest() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(buy(10))
    _feed(eng, [flat(1, 60000)])
    order = eng.submit(sell(10, reduce_only=True, role=OrderRole.EXIT, client_order_id=ClientOrderId("close-all")))
    eng.amend("close-all", contracts=25)  # by client order id: now larger than the position
    _feed(eng, [flat(2, 60500)])
    (exit_fill,) = of_type(journal.events, OrderFilled)[1:]
    assert exit_fill.fill.contracts == 10 and eng.position(BTCUSD_ID) is None
    final = eng.order(order.id)
    assert (final.status, final.filled_contracts) == (OrderStatus.CANCELED, 10)
    assert of_type(journal.events, OrderCanceled)[-1].reason == "reduce-only order was larger than the position"


def test_flatten_cancels_entries_and_closes_every_position_at_the_next_open() -> None:
    journal = MemoryJournal()
    eng = engine(journal, slippage=NO_SLIP)
    _feed(eng, [flat(0, 60000)])
    eng.submit(sell(7, stop_distance=D(500)))
    _feed(eng, [flat(1, 60000)])
    resting = eng.submit(buy(3, order_type=OrderType.LIMIT, limit_price=D(55000)))
    eng.flatten("emergency stop")
    assert eng.order(resting.id).status is OrderStatus.CANCELED
    _feed(eng, [flat(2, 59800)])
    assert eng.position(BTCUSD_ID) is None and eng.open_orders() == ()
    assert (eng.trades[-1].exit_reason, eng.trades[-1].exit_price) == ("flatten", D(59800))
