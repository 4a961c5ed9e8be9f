"""Acting on a strategy's decision at a candle's close: the one rule the backtest and the agent share.

An exit closes the position (reduce-only, at the next open). An entry is sized by the risk
manager's sizer from the equity at that close and submitted with a stop distance measured from the
ATR at that close (the engine places the stop-loss and take-profit around the fill). With
``execution.entry_order_type`` limit, the entry is a limit order at that close (rounded to the tick
in the buyer's or seller's favour), good for ``limit_expiry_candles`` candles: it fills as maker
when the price comes back to it, at the open if the open is already through it, or not at all and
is canceled. An entry against the position reverses it in one order; an entry in the direction
already held is ignored (no pyramiding). ``all_in`` (buy-hold, the yardstick) puts 98% of the
equity in at 1x, no stops, with a market order.
A decision's ``size_factor`` (the agent's RL sizing advisor; 1 everywhere else) scales the sizer's
notional before it becomes contracts, rounded down to the cent; it never touches ``all_in``.

Client order ids are ``<name>-<ts>`` for entries and ``<name>-x<ts>`` for exits: deterministic, so
a step done again after a crash submits each order once (the engine is idempotent on them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from trading_agent.domain import (
    ClientOrderId,
    Instrument,
    OrderIntent,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    Signal,
)
from trading_agent.engine.engine import TradingEngine
from trading_agent.engine.exits import stop_distance
from trading_agent.risk.sizing import PositionSizer, SizingContext, contracts_for_notional

__all__ = ["Decision", "act"]

_ALL_IN = Decimal("0.98")
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Decision:
    """What a strategy wants at one close: ``entry`` +1 long, -1 short, 0 none; ``exit`` close the position.

    ``close``, ``ts`` (the candle's open time) and ``atr`` are the candle's, known at that close;
    ``signal`` is the opinion behind it (its confidence and votes go into the trade log);
    ``size_factor`` (>= 0) multiplies the sizer's notional of an entry (1: as sized).
    """

    entry: int
    exit: bool
    close: float
    ts: int
    atr: float
    signal: Signal | None = None
    size_factor: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.size_factor) and self.size_factor >= 0):
            raise ValueError(f"size_factor must be a finite number >= 0, got {self.size_factor}")


def act(
    engine: TradingEngine,
    instrument: Instrument,
    decision: Decision,
    *,
    name: str,
    sizer: PositionSizer,
    all_in: bool = False,
) -> int:
    """Submit the orders ``decision`` asks for on ``instrument``; return how many the engine refused."""
    entry, ts = decision.entry, decision.ts
    position = engine.position(instrument.id)
    refused = 0
    if decision.exit and position is not None and not entry:
        side = Side.SELL if position.side is PositionSide.LONG else Side.BUY
        intent = OrderIntent(
            instrument=instrument.id,
            side=side,
            contracts=position.contracts,
            reduce_only=True,
            role=OrderRole.EXIT,
            client_order_id=ClientOrderId(f"{name}-x{ts}"),
        )
        refused += engine.submit(intent).status is OrderStatus.REJECTED
    if not entry:
        return refused
    side = Side.BUY if entry > 0 else Side.SELL
    if position is not None and (position.side is PositionSide.LONG) == (side is Side.BUY):
        return refused  # already on that side: no pyramiding
    price = Decimal(repr(decision.close))
    equity = engine.portfolio_state().equity
    if all_in:
        notional = (equity * _ALL_IN).quantize(_CENT, rounding=ROUND_DOWN)
    else:
        notional = sizer.size(equity, SizingContext(trades=engine.trades))
        if decision.size_factor != 1.0:
            notional = (notional * Decimal(repr(decision.size_factor))).quantize(_CENT, rounding=ROUND_DOWN)
    contracts = contracts_for_notional(notional, instrument, price)
    if position is not None:
        contracts += position.contracts  # reverse in one order
    if contracts <= 0:
        return refused
    distance = None if all_in else stop_distance(engine.config.exits, decision.close, atr=decision.atr)
    execution = engine.config.execution
    limit = not all_in and execution.entry_order_type is OrderType.LIMIT
    favourable = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING  # a limit never worse than the close
    intent = OrderIntent(
        instrument=instrument.id,
        side=side,
        contracts=contracts,
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=instrument.round_price(price, favourable) if limit else None,
        expire_ts=ts + (execution.limit_expiry_candles + 1) * engine.config.timeframe.ms if limit else None,
        stop_distance=distance,
        client_order_id=ClientOrderId(f"{name}-{ts}"),
        signal=decision.signal,
    )
    return refused + (engine.submit(intent).status is OrderStatus.REJECTED)
