from dataclasses import replace
from decimal import Decimal
from itertools import product

import pytest

from trading_agent.domain import (
    Fill,
    InstrumentId,
    Liquidity,
    Order,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderId,
    OrderIntent,
    OrderRejected,
    OrderStatus,
    OrderSubmitted,
    Side,
    TradeId,
)
from trading_agent.engine.errors import EngineError
from trading_agent.engine.orders import (
    TRANSITIONS,
    DuplicateFillError,
    FillMismatchError,
    InvalidTransitionError,
    OrderEvent,
    OrderEventKind,
    OrderState,
    OverfillError,
    apply,
)

D = Decimal
S, K = OrderStatus, OrderEventKind
BTC = InstrumentId("delta_india", "BTCUSD")
ETH = InstrumentId("delta_india", "ETHUSD")
OID = OrderId("o-1")


def _order(status: OrderStatus = S.SUBMITTED, *, contracts: int = 10, filled: int = 0) -> Order:
    intent = OrderIntent(instrument=BTC, side=Side.BUY, contracts=contracts)
    avg = D(60000) if filled else None
    return Order(
        id=OID, intent=intent, status=status, ts_created=1, ts_updated=1, filled_contracts=filled, avg_fill_price=avg
    )


def _fill(contracts: int, price: str = "60000", trade_id: str = "t-1", **kw: object) -> Fill:
    spec: dict[str, object] = {
        "trade_id": TradeId(trade_id),
        "order_id": OID,
        "instrument": BTC,
        "side": Side.BUY,
        "contracts": contracts,
        "price": D(price),
        "fee": D("0.03"),
        "liquidity": Liquidity.TAKER,
        "ts": 5,
    }
    spec.update(kw)
    return Fill(**spec)  # type: ignore[arg-type]


def _event(kind: OrderEventKind, order: Order) -> OrderEvent:
    """An event of ``kind`` for ``order`` (fills sized to complete it, or leave one contract)."""
    match kind:
        case K.SUBMIT:
            return OrderSubmitted(ts_event=9, order=order)
        case K.ACCEPT:
            return OrderAccepted(ts_event=9, order=order)
        case K.REJECT:
            return OrderRejected(ts_event=9, order=order, reason="no margin")
        case K.CANCEL:
            return OrderCanceled(ts_event=9, order=order, reason="user")
        case K.AMEND:
            bigger = replace(order.intent, contracts=order.intent.contracts + 5)
            return OrderAmended(ts_event=9, order=replace(order, intent=bigger), reason="user")
        case K.FILL:
            return OrderFilled(ts_event=9, order=order, fill=_fill(max(order.remaining_contracts, 1)))
        case K.PARTIAL_FILL:
            return OrderFilled(ts_event=9, order=order, fill=_fill(max(order.remaining_contracts - 1, 1)))
    raise AssertionError(kind)


def _order_in(status: OrderStatus) -> Order:
    # a partially filled order has 4 of 10 filled, so both a partial and a full fill are possible
    return _order(status, filled=4 if status is S.PARTIALLY_FILLED else 0)


EXPECTED = {
    (S.SUBMITTED, K.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, K.REJECT): S.REJECTED,
    (S.ACCEPTED, K.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, K.FILL): S.FILLED,
    (S.ACCEPTED, K.CANCEL): S.CANCELED,
    (S.ACCEPTED, K.AMEND): S.ACCEPTED,
    (S.PARTIALLY_FILLED, K.AMEND): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, K.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, K.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, K.CANCEL): S.CANCELED,
}


def test_transition_table_is_exactly_the_lifecycle() -> None:
    assert dict(TRANSITIONS) == EXPECTED
    assert all(not status.is_terminal for status, _ in TRANSITIONS)


@pytest.mark.parametrize(("status", "kind"), list(product(OrderStatus, OrderEventKind)))
def test_every_status_and_event_pair(status: OrderStatus, kind: OrderEventKind) -> None:
    order = _order_in(status)
    event = _event(kind, order)
    if (status, kind) in EXPECTED:
        new = apply(order, event)
        assert new.status is EXPECTED[status, kind]
        assert new.ts_updated == 9
        assert order.status is status  # the input is unchanged
    else:
        with pytest.raises(InvalidTransitionError, match=rf"order {OID}: {type(event).__name__}.*status {status}"):
            apply(order, event)


def test_terminal_states_accept_nothing() -> None:
    for status in (S.FILLED, S.CANCELED, S.REJECTED):
        assert status.is_terminal
        for kind in OrderEventKind:
            with pytest.raises(InvalidTransitionError):
                apply(_order_in(status), _event(kind, _order_in(status)))


def test_errors_are_engine_errors() -> None:
    for error in (InvalidTransitionError, DuplicateFillError, OverfillError, FillMismatchError):
        assert issubclass(error, EngineError)


def test_reject_keeps_the_reason() -> None:
    order = _order()
    rejected = apply(order, OrderRejected(ts_event=3, order=order, reason="no margin"))
    assert (rejected.status, rejected.reject_reason, rejected.ts_updated) == (S.REJECTED, "no margin", 3)


def test_partial_fills_and_volume_weighted_average_by_hand() -> None:
    state = OrderState(_order(S.ACCEPTED))
    state = state.apply(OrderFilled(ts_event=2, order=state.order, fill=_fill(3, "60000", "t-1")))
    assert (state.order.status, state.order.filled_contracts, state.order.avg_fill_price) == (
        S.PARTIALLY_FILLED,
        3,
        D(60000),
    )
    state = state.apply(OrderFilled(ts_event=3, order=state.order, fill=_fill(5, "60800", "t-2")))
    # (3 x 60,000 + 5 x 60,800) / 8 = 484,000 / 8 = 60,500
    assert (state.order.filled_contracts, state.order.avg_fill_price) == (8, D(60500))
    assert state.order.remaining_contracts == 2
    state = state.apply(OrderFilled(ts_event=4, order=state.order, fill=_fill(2, "61500", "t-3")))
    # (8 x 60,500 + 2 x 61,500) / 10 = 607,000 / 10 = 60,700
    assert (state.order.status, state.order.filled_contracts, state.order.avg_fill_price) == (S.FILLED, 10, D(60700))
    assert state.trade_ids == {"t-1", "t-2", "t-3"}


def test_fill_cannot_exceed_the_order() -> None:
    order = _order(S.PARTIALLY_FILLED, filled=4)
    with pytest.raises(OverfillError, match="7 contracts exceeds the 6 remaining"):
        apply(order, OrderFilled(ts_event=2, order=order, fill=_fill(7)))


def test_repeated_trade_id_is_refused() -> None:
    state = OrderState(_order(S.ACCEPTED))
    state = state.apply(OrderFilled(ts_event=2, order=state.order, fill=_fill(3, trade_id="t-1")))
    with pytest.raises(DuplicateFillError, match="t-1"):
        state.apply(OrderFilled(ts_event=3, order=state.order, fill=_fill(3, trade_id="t-1")))
    with pytest.raises(DuplicateFillError):
        apply(
            _order(S.ACCEPTED),
            OrderFilled(ts_event=2, order=_order(), fill=_fill(1)),
            seen_trade_ids=frozenset({TradeId("t-1")}),
        )


@pytest.mark.parametrize(
    "overrides",
    [{"order_id": OrderId("other")}, {"instrument": ETH}, {"side": Side.SELL}],
)
def test_fill_of_another_order_instrument_or_side_is_refused(overrides: dict[str, object]) -> None:
    order = _order(S.ACCEPTED)
    with pytest.raises(FillMismatchError):
        apply(order, OrderFilled(ts_event=2, order=order, fill=_fill(1, **overrides)))


def test_event_for_another_order_is_refused() -> None:
    other = Order(id=OrderId("o-2"), intent=_order().intent, status=S.SUBMITTED, ts_created=1, ts_updated=1)
    with pytest.raises(FillMismatchError, match="o-2"):
        apply(_order(), OrderAccepted(ts_event=2, order=other))


def test_state_starts_from_a_submitted_event() -> None:
    state = OrderState.submitted(OrderSubmitted(ts_event=1, order=_order()))
    assert state.order.status is S.SUBMITTED and state.trade_ids == frozenset()
    with pytest.raises(InvalidTransitionError):
        OrderState.submitted(OrderSubmitted(ts_event=1, order=_order(S.ACCEPTED)))


def test_amend_replaces_size_and_prices_but_nothing_else() -> None:
    order = _order(S.PARTIALLY_FILLED, filled=4)
    bigger = replace(order.intent, contracts=20)
    amended = apply(order, OrderAmended(ts_event=12, order=replace(order, intent=bigger), reason="user"))
    assert (amended.intent.contracts, amended.filled_contracts, amended.status, amended.ts_updated) == (
        20,
        4,
        S.PARTIALLY_FILLED,
        12,
    )
    with pytest.raises(OverfillError, match="must exceed the 4 already filled"):
        apply(order, OrderAmended(ts_event=12, order=replace(order, intent=replace(bigger, contracts=4)), reason="x"))
    with pytest.raises(FillMismatchError, match="only the size and the prices"):
        flipped = replace(order.intent, side=Side.SELL)
        apply(order, OrderAmended(ts_event=12, order=replace(order, intent=flipped), reason="x"))
