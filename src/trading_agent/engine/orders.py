"""The order state machine: an ``Order`` changes only by ``apply(order, event)``.

Pure functions over frozen values. ``TRANSITIONS`` is the whole lifecycle: submitted ->
accepted | rejected; accepted -> partially filled | filled | canceled | amended (still accepted);
partially filled -> partially filled | filled | canceled | amended; terminal states accept
nothing. A fill is the kind ``PARTIAL_FILL`` or ``FILL`` depending on whether it completes the
order. An amend replaces the order's intent (size or prices), never below what is already filled.

``Order`` itself keeps no trade ids, so duplicate fills are refused against the ids the caller
passes (``OrderState`` carries them for you). Idempotent client order ids belong to the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TypeAlias

from trading_agent.domain import (
    Order,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    OrderSubmitted,
    TradeId,
)
from trading_agent.engine.errors import EngineError
from trading_agent.engine.margin import increase_position

__all__ = [
    "TRANSITIONS",
    "DuplicateFillError",
    "FillMismatchError",
    "InvalidTransitionError",
    "OrderEvent",
    "OrderEventKind",
    "OrderState",
    "OverfillError",
    "apply",
    "event_kind",
]

OrderEvent: TypeAlias = OrderSubmitted | OrderAccepted | OrderRejected | OrderCanceled | OrderFilled | OrderAmended


class InvalidTransitionError(EngineError):
    """An event that the order's current status does not allow."""


class DuplicateFillError(EngineError):
    """A fill whose ``trade_id`` was already applied (to this order or this position)."""


class OverfillError(EngineError):
    """A fill for more contracts than the order has left."""


class FillMismatchError(EngineError):
    """An event or fill that belongs to another order, instrument or side."""


class OrderEventKind(StrEnum):
    """What an event does to an order; a fill's kind depends on whether it completes the order."""

    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    CANCEL = "cancel"
    AMEND = "amend"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"


_S, _K = OrderStatus, OrderEventKind

TRANSITIONS: Mapping[tuple[OrderStatus, OrderEventKind], OrderStatus] = MappingProxyType(
    {
        (_S.SUBMITTED, _K.ACCEPT): _S.ACCEPTED,
        (_S.SUBMITTED, _K.REJECT): _S.REJECTED,
        (_S.ACCEPTED, _K.PARTIAL_FILL): _S.PARTIALLY_FILLED,
        (_S.ACCEPTED, _K.FILL): _S.FILLED,
        (_S.ACCEPTED, _K.CANCEL): _S.CANCELED,
        (_S.ACCEPTED, _K.AMEND): _S.ACCEPTED,
        (_S.PARTIALLY_FILLED, _K.PARTIAL_FILL): _S.PARTIALLY_FILLED,
        (_S.PARTIALLY_FILLED, _K.FILL): _S.FILLED,
        (_S.PARTIALLY_FILLED, _K.CANCEL): _S.CANCELED,
        (_S.PARTIALLY_FILLED, _K.AMEND): _S.PARTIALLY_FILLED,
    }
)
"""Every legal ``(status, event kind) -> new status``; any pair not here is refused."""


def event_kind(order: Order, event: OrderEvent) -> OrderEventKind:
    """The kind of ``event`` for ``order`` (a fill is ``FILL`` when it leaves nothing remaining)."""
    match event:
        case OrderSubmitted():
            return _K.SUBMIT
        case OrderAccepted():
            return _K.ACCEPT
        case OrderRejected():
            return _K.REJECT
        case OrderCanceled():
            return _K.CANCEL
        case OrderAmended():
            return _K.AMEND
        case OrderFilled():
            return _K.FILL if event.fill.contracts >= order.remaining_contracts else _K.PARTIAL_FILL


def _check_fill(order: Order, event: OrderFilled, seen_trade_ids: frozenset[TradeId]) -> None:
    fill = event.fill
    if fill.order_id != order.id:
        raise FillMismatchError(f"fill {fill.trade_id} is for order {fill.order_id}, not {order.id}")
    if fill.instrument != order.intent.instrument or fill.side != order.intent.side:
        raise FillMismatchError(
            f"fill {fill.trade_id} ({fill.side} {fill.instrument}) does not match order {order.id} "
            f"({order.intent.side} {order.intent.instrument})"
        )
    if fill.trade_id in seen_trade_ids:
        raise DuplicateFillError(f"order {order.id}: fill {fill.trade_id} was already applied")
    if fill.contracts > order.remaining_contracts:
        raise OverfillError(
            f"order {order.id}: fill {fill.trade_id} of {fill.contracts} contracts exceeds the "
            f"{order.remaining_contracts} remaining"
        )


def _check_amend(order: Order, amended: Order) -> None:
    old, new = order.intent, amended.intent
    if (new.instrument, new.side, new.reduce_only) != (old.instrument, old.side, old.reduce_only):
        raise FillMismatchError(f"order {order.id}: an amend may change only the size and the prices")
    if new.contracts <= order.filled_contracts:
        raise OverfillError(
            f"order {order.id}: amended size {new.contracts} must exceed the {order.filled_contracts} already filled"
        )


def apply(order: Order, event: OrderEvent, *, seen_trade_ids: frozenset[TradeId] = frozenset()) -> Order:
    """Return a new ``Order`` after ``event``; the input is never changed.

    Raises ``InvalidTransitionError`` for a pair not in ``TRANSITIONS``, ``FillMismatchError`` for
    an event of another order, ``DuplicateFillError`` for a ``trade_id`` in ``seen_trade_ids`` and
    ``OverfillError`` for a fill larger than what remains. A fill updates ``filled_contracts`` and
    the volume-weighted ``avg_fill_price``.
    """
    if event.order.id != order.id:
        raise FillMismatchError(f"{type(event).__name__} is for order {event.order.id}, not {order.id}")
    kind = event_kind(order, event)
    status = TRANSITIONS.get((order.status, kind))
    if status is None:
        raise InvalidTransitionError(
            f"order {order.id}: {type(event).__name__} ({kind}) is not allowed in status {order.status}"
        )
    intent, filled, average, reject_reason = (
        order.intent,
        order.filled_contracts,
        order.avg_fill_price,
        order.reject_reason,
    )
    match event:
        case OrderFilled(fill=fill):
            _check_fill(order, event, seen_trade_ids)
            average = fill.price
            if order.avg_fill_price is not None and filled > 0:
                average = increase_position(filled, order.avg_fill_price, fill.contracts, fill.price).entry_price
            filled += fill.contracts
        case OrderRejected(reason=reason):
            reject_reason = reason
        case OrderAmended(order=amended):
            _check_amend(order, amended)
            intent = amended.intent
    return Order(  # built directly, not with dataclasses.replace: this runs for every order event
        id=order.id,
        intent=intent,
        status=status,
        ts_created=order.ts_created,
        ts_updated=event.ts_event,
        filled_contracts=filled,
        avg_fill_price=average,
        reject_reason=reject_reason,
    )


@dataclass(frozen=True, slots=True)
class OrderState:
    """An order plus the trade ids already applied to it, so duplicate fills are refused."""

    order: Order
    trade_ids: frozenset[TradeId] = frozenset()

    @classmethod
    def submitted(cls, event: OrderSubmitted) -> OrderState:
        """Start from an ``OrderSubmitted`` event; its order must be in status ``SUBMITTED``."""
        if event.order.status is not OrderStatus.SUBMITTED:
            raise InvalidTransitionError(f"order {event.order.id}: submitted in status {event.order.status}")
        return cls(event.order)

    def apply(self, event: OrderEvent) -> OrderState:
        """Return the state after ``event`` (see the module function ``apply``)."""
        order = apply(self.order, event, seen_trade_ids=self.trade_ids)
        if isinstance(event, OrderFilled):
            return OrderState(order, self.trade_ids | {event.fill.trade_id})
        return OrderState(order, self.trade_ids)
