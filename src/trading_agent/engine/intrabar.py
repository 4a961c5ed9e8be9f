"""The order of events inside one candle: which resting order (or the liquidation) the price reaches next.

Inside a candle the engine assumes the price moves in two straight legs: from the open to the
extreme that hurts the position held (the low for a long or when flat, the high for a short),
then to the other extreme. That is the conservative path: stops and liquidation on the adverse
side come before targets on the favourable side. On a leg, levels are reached in order of
distance from where the leg started; at one price the liquidation comes first, then the
position's stop, then other orders in the order they were submitted.

A buy limit or a sell stop is reached on a falling leg, a sell limit or a buy stop on a rising
one; a long is liquidated on a falling leg, a short on a rising one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from trading_agent.domain import OrderId, OrderType, PositionSide, Side
from trading_agent.engine.book import InstrumentBook
from trading_agent.engine.orders import OrderState

__all__ = ["Trigger", "legs", "next_trigger"]


@dataclass(frozen=True, slots=True)
class Trigger:
    """The next level the price reaches on a leg: an order's, or the liquidation's (``order_id`` None)."""

    level: Decimal
    order_id: OrderId | None


def legs(open_: Decimal, high: Decimal, low: Decimal, side: PositionSide | None) -> tuple[tuple[Decimal, Decimal], ...]:
    """The candle's two legs ``(start, end)``: adverse extreme first (the low for a long or flat)."""
    if side is PositionSide.SHORT:
        return (open_, high), (high, low)
    return (open_, low), (low, high)


def _order_level(state: OrderState, falling: bool) -> Decimal | None:
    intent = state.order.intent
    if intent.order_type is OrderType.MARKET:
        return None
    if intent.order_type is OrderType.LIMIT:
        reached_falling, level = intent.side is Side.BUY, intent.limit_price
    else:
        reached_falling, level = intent.side is Side.SELL, intent.stop_price
    return level if reached_falling == falling else None


def _nearer(
    best: tuple[tuple[Decimal, int, int], Trigger] | None,
    key: tuple[Decimal, int, int],
    level: Decimal,
    order_id: OrderId | None,
) -> tuple[tuple[Decimal, int, int], Trigger] | None:
    """``best``, or the candidate ``(key, Trigger(level, order_id))`` when its key comes first."""
    if best is None or key < best[0]:
        return key, Trigger(level, order_id)
    return best


def next_trigger(
    book: InstrumentBook,
    orders: Mapping[OrderId, OrderState],
    start: Decimal,
    end: Decimal,
    eligible: Callable[[OrderId], bool],
) -> Trigger | None:
    """The first level in ``[start, end]`` (either direction) the price reaches, or ``None``.

    Candidates are ranked by ``(distance along the leg, rank, submission index)``: the liquidation
    (rank 0), then the position's stop (1), then other orders (2).
    """
    if start == end:
        return None
    falling = end < start
    low, high = (end, start) if falling else (start, end)
    best: tuple[tuple[Decimal, int, int], Trigger] | None = None
    position = book.position
    liquidation = position.liquidation_price if position is not None else None
    if (
        position is not None
        and liquidation is not None
        and (position.side is PositionSide.LONG) == falling
        and low <= liquidation <= high
    ):
        best = _nearer(best, (-liquidation if falling else liquidation, 0, 0), liquidation, None)
    for index, order_id in enumerate(book.open_orders):
        state = orders[order_id]
        level = _order_level(state, falling)
        if level is not None and low <= level <= high and eligible(order_id):
            rank = 1 if state.order.intent.role.is_stop else 2
            best = _nearer(best, (-level if falling else level, rank, index), level, order_id)
    return None if best is None else best[1]
