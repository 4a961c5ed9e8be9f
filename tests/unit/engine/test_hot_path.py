"""The slow path's shortcuts: each must give exactly what the long way gives.

- The fold takes the order state ``Execution.transition`` already computed (``EngineState.expect``)
  only when it is the state of that very event from the order's current state; otherwise it runs
  the state machine itself.
- Position events come out of ``apply_fill`` unstamped and are stamped once, by the recorder.
- A closed trade gets its log fields from the order that opened the position, built once.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.testkit.engine import H, buy, candle, config, engine, flat, of_type
from tests.testkit.instruments import BTCUSD_ID, btcusd
from trading_agent.domain import (
    Direction,
    Fill,
    Liquidity,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderId,
    OrderStatus,
    OrderSubmitted,
    PositionClosed,
    PositionOpened,
    Side,
    Signal,
    TradeId,
)
from trading_agent.engine.journal import MemoryJournal
from trading_agent.engine.orders import InvalidTransitionError, OrderState
from trading_agent.engine.positions import PositionState, apply_fill
from trading_agent.engine.recorder import UNSTAMPED
from trading_agent.engine.state import EngineState

D = Decimal


def _submitted(state: EngineState) -> OrderState:
    order = Order(id=OrderId("t-O1"), intent=buy(3), status=OrderStatus.SUBMITTED, ts_created=0, ts_updated=0)
    state.apply(OrderSubmitted(ts_event=0, order=order, event_id="t:1", ts_init=0))
    return state.orders[order.id]


def _accepted(order: Order) -> OrderAccepted:
    return OrderAccepted(ts_event=5, order=order, event_id="t:2", ts_init=5)


def test_the_fold_takes_the_handed_over_state_when_it_fits() -> None:
    state = EngineState(config(), [btcusd()])
    before = _submitted(state)
    after = before.apply(_accepted(before.order))
    state.expect(before, after)
    state.apply(_accepted(after.order))
    assert state.orders[before.order.id] is after


def test_the_fold_computes_the_state_when_the_order_moved_on() -> None:
    state = EngineState(config(), [btcusd()])
    before = _submitted(state)
    accepted = before.apply(_accepted(before.order))
    state.apply(_accepted(accepted.order))
    state.expect(before, accepted)  # stale: the order is no longer in state ``before``
    with pytest.raises(InvalidTransitionError):  # accepting it twice is refused, as without the hand-over
        state.apply(_accepted(accepted.order))


def test_the_fold_computes_the_state_for_another_event() -> None:
    state = EngineState(config(), [btcusd()])
    before = _submitted(state)
    accepted = before.apply(_accepted(before.order))
    state.expect(before, accepted)
    other = OrderCanceled(ts_event=7, order=before.order, reason="x", event_id="t:2", ts_init=7)
    with pytest.raises(InvalidTransitionError):  # a submitted order cannot be canceled: computed, not taken
        state.apply(other)
    assert state.orders[before.order.id] is before


def test_position_events_come_unstamped_and_are_stamped_in_the_journal() -> None:
    fill = Fill(
        trade_id=TradeId("f1"),
        order_id=OrderId("o1"),
        instrument=BTCUSD_ID,
        side=Side.BUY,
        contracts=10,
        price=D(60_000),
        fee=D(1),
        liquidity=Liquidity.TAKER,
        ts=0,
    )
    _, (event,) = apply_fill(PositionState(instrument=BTCUSD_ID), fill, btcusd(), leverage=D(1), ts=0)
    assert (event.event_id, event.ts_init) == (UNSTAMPED["event_id"], UNSTAMPED["ts_init"])
    journal = MemoryJournal()
    eng = engine(journal)
    eng.on_candle(BTCUSD_ID, flat(0, 60_000))
    eng.submit(buy(10))
    eng.on_candle(BTCUSD_ID, flat(1, 60_000))
    eng.commit()
    events = journal.events
    opened = of_type(events, PositionOpened)
    assert len(opened) == 1
    assert opened[0].event_id == f"t:{events.index(opened[0]) + 1:012d}"
    assert opened[0].ts_init == opened[0].ts_event == H  # market time: the open of the fill's candle


def test_a_closed_trade_carries_the_log_fields_of_the_order_that_opened_it() -> None:
    signal = Signal(
        instrument=BTCUSD_ID, ts=0, direction=Direction.LONG, strength=0.5, confidence=0.8, model_votes={"m": 0.7}
    )
    journal = MemoryJournal()
    eng = engine(journal)
    eng.on_candle(BTCUSD_ID, flat(0, 60_000))
    eng.submit(buy(10, stop_distance=D(500), leverage=D(2), signal=signal))
    eng.on_candle(BTCUSD_ID, flat(1, 60_000))
    eng.on_candle(BTCUSD_ID, candle(2, 60_000, 60_000, 59_000, 59_200))  # through the stop-loss
    eng.commit()
    (closed,) = of_type(journal.events, PositionClosed)
    trade = closed.trade
    assert trade.exit_reason == "stop_loss"
    assert trade.signal_confidence == 0.8
    assert dict(trade.model_predictions) == {"m": 0.7}
    assert dict(trade.market_conditions) == {"leverage": 2.0, "stop_distance": 500.0}
    assert eng.trades == (trade,)
