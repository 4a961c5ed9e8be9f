"""One instrument's side of the engine: its position, its open orders and the fast path's thresholds.

``InstrumentBook`` is mutable and private to the engine. Its thresholds let the engine skip a
candle in a few float comparisons: a candle whose low stays above ``low_trigger``, whose high
stays below ``high_trigger``, whose close stays inside the close band and that opens before
``wake_ts`` cannot fill, trigger, trail, settle funding, time out or trip a breaker. The
thresholds are conservative (one tick wider than the levels, because the fill simulator snaps
candles to the tick grid), so skipping is exact: the slow path would do nothing on such a candle.
``volatility_tripped`` says which way the volatility breaker could change (trip or clear).
"""

from __future__ import annotations

import math
from decimal import Decimal

from trading_agent.domain import (
    Instrument,
    OrderId,
    OrderIntent,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
)
from trading_agent.engine.exits import ExitRules, time_exit_deadline, trailing_trigger
from trading_agent.engine.orders import OrderState
from trading_agent.engine.positions import PositionState

__all__ = ["ALWAYS", "InstrumentBook"]

ALWAYS = -(2**62)
"""A ``wake_ts`` that sends every candle down the slow path."""

_NEVER = 2**62
_INF = math.inf


class InstrumentBook:
    """The position, open orders, marks and fast-path thresholds of one instrument."""

    __slots__ = (
        "anomalous",
        "close_high",
        "close_low",
        "entry_intent",
        "high_trigger",
        "instrument",
        "last_ts",
        "low_trigger",
        "mark",
        "next_funding_ts",
        "open_orders",
        "position_state",
        "refusals",
        "stop_order",
        "target_order",
        "tick",
        "volatility",
        "volatility_tripped",
        "wake_ts",
    )

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.tick = float(instrument.tick_size)
        self.position_state = PositionState(instrument=instrument.id)
        self.open_orders: dict[OrderId, None] = {}
        self.stop_order: OrderId | None = None
        self.target_order: OrderId | None = None
        self.refusals: dict[OrderId, int] = {}
        self.entry_intent: OrderIntent | None = None
        self.last_ts: int | None = None
        self.mark: float | None = None
        self.volatility: float | None = None
        self.next_funding_ts: int | None = None
        self.anomalous = False
        self.low_trigger = _INF
        self.high_trigger = -_INF
        self.close_low = _INF
        self.close_high = -_INF
        self.wake_ts = ALWAYS
        self.volatility_tripped = False

    @property
    def position(self) -> Position | None:
        """The open position, or ``None`` when flat."""
        return self.position_state.position

    def snapshot(self) -> tuple[object, ...]:
        """The book's state as comparable values (thresholds excluded: they follow from it)."""
        return (
            self.position_state,
            tuple(self.open_orders),
            self.stop_order,
            self.target_order,
            dict(self.refusals),
            self.entry_intent,
            self.last_ts,
            self.mark,
            self.volatility,
            self.next_funding_ts,
            self.anomalous,
        )

    def track(self, state: OrderState) -> None:
        """Keep an open order (and its exit slot) in step with its latest state."""
        order = state.order
        if order.status.is_terminal:
            self.open_orders.pop(order.id, None)
            self.refusals.pop(order.id, None)
            if self.stop_order == order.id:
                self.stop_order = None
            if self.target_order == order.id:
                self.target_order = None
            return
        if order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            self.open_orders[order.id] = None
            if order.intent.role.is_stop:
                self.stop_order = order.id
            elif order.intent.role is OrderRole.TAKE_PROFIT:
                self.target_order = order.id

    def refresh_triggers(self, orders: dict[OrderId, OrderState], exits: ExitRules, timeframe_ms: int) -> None:
        """Recompute the price triggers and the wake time from the open orders and the position."""
        low, high, wake = -_INF, _INF, _NEVER
        tick = self.tick
        stop_price: Decimal | None = None
        for order_id in self.open_orders:
            intent = orders[order_id].order.intent
            if intent.expire_ts is not None:  # the candle closing at or after it cancels what is left
                wake = min(wake, intent.expire_ts - timeframe_ms)
            if intent.order_type is OrderType.MARKET:
                wake = ALWAYS
                continue
            if order_id == self.stop_order:
                stop_price = intent.stop_price
            if intent.order_type is OrderType.LIMIT and intent.limit_price is not None:
                level, down = float(intent.limit_price), intent.side is Side.BUY
            elif intent.stop_price is not None:
                level, down = float(intent.stop_price), intent.side is Side.SELL
            else:
                continue
            if down:
                low = max(low, level + tick)
            else:
                high = min(high, level - tick)
        position = self.position
        if position is not None:
            liquidation = position.liquidation_price
            long = position.side is PositionSide.LONG
            if liquidation is None:
                wake = ALWAYS
            elif long:
                low = max(low, float(liquidation) + tick)
            else:
                high = min(high, float(liquidation) - tick)
            trail = trailing_trigger(position.side, position.entry_price, stop_price, exits, self.instrument)
            if long:
                high = min(high, trail)
            else:
                low = max(low, trail)
            if self.next_funding_ts is not None:
                wake = min(wake, self.next_funding_ts - timeframe_ms + 1)
            deadline = time_exit_deadline(position.ts_opened, exits)
            if deadline is not None:
                wake = min(wake, deadline - timeframe_ms)
        self.low_trigger, self.high_trigger, self.wake_ts = low, high, wake
