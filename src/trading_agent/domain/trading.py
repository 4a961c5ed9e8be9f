"""Trading value objects: what the models say, what the agent asks for, what happened.

Money (prices, fees, cash, PnL) is ``Decimal``; sizes are whole contracts. Inputs (``Signal``,
``OrderIntent``) and results (``Order``, ``Fill``, ``Trade``) never share a record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import NewType

from trading_agent.domain.errors import DomainError
from trading_agent.domain.market import InstrumentId

__all__ = [
    "AgentCommand",
    "AnomalyAction",
    "ClientOrderId",
    "Direction",
    "Fill",
    "InstrumentMark",
    "Liquidity",
    "Order",
    "OrderId",
    "OrderIntent",
    "OrderRole",
    "OrderStatus",
    "OrderType",
    "PortfolioState",
    "Position",
    "PositionSide",
    "Side",
    "Signal",
    "SizingMethod",
    "Trade",
    "TradeId",
]

OrderId = NewType("OrderId", str)
ClientOrderId = NewType("ClientOrderId", str)
TradeId = NewType("TradeId", str)

_EMPTY: Mapping[str, float] = MappingProxyType({})


class Side(StrEnum):
    """Order side."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy, -1 for sell."""
        return 1 if self is Side.BUY else -1


class Direction(StrEnum):
    """What a signal recommends."""

    LONG = "long"
    SHORT = "short"
    FLAT = "flat"


class PositionSide(StrEnum):
    """Which way a position faces."""

    LONG = "long"
    SHORT = "short"


class SizingMethod(StrEnum):
    """How a position's size is chosen (the trading rules and the risk manager share this vocabulary)."""

    KELLY_CRITERION = "kelly_criterion"
    FIXED_FRACTIONAL = "fixed_fractional"
    VOLATILITY_ADJUSTED = "volatility_adjusted"


class AnomalyAction(StrEnum):
    """What the risk manager does with entries while the market is flagged anomalous (``MarketAnomaly``)."""

    OFF = "off"
    HALVE = "halve"
    BLOCK = "block"


class AgentCommand(StrEnum):
    """What a person can tell the running agent (``AgentControlled``)."""

    PAUSE = "pause"  # no new entries; positions, stops and targets kept
    RESUME = "resume"  # entries again (also resets the emergency stop's breaker)
    SET_MODE = "set_mode"  # conservative, moderate or aggressive sizing and filters
    EMERGENCY_STOP = "emergency_stop"  # flatten everything now and trip the emergency_stop breaker
    SET_RISK = "set_risk"  # override the sizing and the minimum confidence of new entries (JSON)
    SET_ALERTS = "set_alerts"  # what the agent announces to people (JSON), read by the bot


class OrderType(StrEnum):
    """Order types the engine simulates."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"


class OrderRole(StrEnum):
    """Why an order exists; a closed ``Trade``'s ``exit_reason`` is the role of the order that closed it."""

    ENTRY = "entry"
    EXIT = "exit"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    TIME_EXIT = "time_exit"
    LIQUIDATION = "liquidation"
    FLATTEN = "flatten"

    @property
    def is_protective(self) -> bool:
        """Whether the engine itself places and manages orders of this role (brackets, exits)."""
        return self not in (OrderRole.ENTRY, OrderRole.EXIT)

    @property
    def is_stop(self) -> bool:
        """Whether this is a position's protective stop (a stop-loss, or one that has started trailing)."""
        return self in (OrderRole.STOP_LOSS, OrderRole.TRAILING_STOP)


class OrderStatus(StrEnum):
    """Lifecycle states of an order."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        """Whether no further change can happen."""
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


class Liquidity(StrEnum):
    """Whether a fill added (maker) or took (taker) liquidity."""

    MAKER = "maker"
    TAKER = "taker"


def _frozen_mapping(values: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """An ensemble's opinion on one instrument at one candle close.

    ``strength`` is in [-1, 1] (sign = direction); ``confidence`` is a calibrated probability in
    [0, 1]; ``model_votes`` maps model name to its own probability of the predicted direction.
    """

    instrument: InstrumentId
    ts: int
    direction: Direction
    strength: float
    confidence: float
    model_votes: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    regime: str | None = None
    anomaly: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise DomainError(f"signal confidence must be in [0, 1], got {self.confidence}")
        if not (math.isfinite(self.strength) and -1.0 <= self.strength <= 1.0):
            raise DomainError(f"signal strength must be in [-1, 1], got {self.strength}")
        object.__setattr__(self, "model_votes", _frozen_mapping(self.model_votes))


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderIntent:
    """What the agent asks the engine to do; the risk manager approves or rejects it.

    Exits of an entry: absolute ``stop_loss``/``take_profit`` prices, or ``stop_distance`` (a price
    distance known at decision time, e.g. 2 x ATR) from which the engine places the stop-loss and
    the take-profit around the actual fill price. ``signal`` is the opinion that motivated the
    intent (its confidence is checked against the minimum; ``None`` for a person's order).
    ``expire_ts`` (epoch ms) makes the order good till then: whatever of it is unfilled at the
    first candle close at or after that time is canceled (``None``: good till canceled).
    """

    instrument: InstrumentId
    side: Side
    contracts: int
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    client_order_id: ClientOrderId | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    leverage: Decimal = Decimal(1)
    stop_distance: Decimal | None = None
    role: OrderRole = OrderRole.ENTRY
    signal: Signal | None = None
    expire_ts: int | None = None

    def __post_init__(self) -> None:
        if self.contracts <= 0:
            raise DomainError(f"order size must be a positive number of contracts, got {self.contracts}")
        needs_limit = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
        if needs_limit != (self.limit_price is not None):
            raise DomainError(f"{self.order_type} order: limit_price is {'required' if needs_limit else 'not allowed'}")
        if needs_stop != (self.stop_price is not None):
            raise DomainError(f"{self.order_type} order: stop_price is {'required' if needs_stop else 'not allowed'}")
        for name in ("limit_price", "stop_price", "stop_loss", "take_profit", "stop_distance"):
            value = getattr(self, name)
            if value is not None and not (value.is_finite() and value > 0):
                raise DomainError(f"{name} must be a positive finite price, got {value}")
        if not (self.leverage.is_finite() and self.leverage > 0):
            raise DomainError(f"leverage must be positive and finite, got {self.leverage}")
        if self.expire_ts is not None and self.expire_ts <= 0:
            raise DomainError(f"expire_ts must be a positive epoch-ms time, got {self.expire_ts}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """The engine's record of an order at one moment of its life."""

    id: OrderId
    intent: OrderIntent
    status: OrderStatus
    ts_created: int
    ts_updated: int
    filled_contracts: int = 0
    avg_fill_price: Decimal | None = None
    reject_reason: str | None = None

    @property
    def remaining_contracts(self) -> int:
        """Contracts not yet filled."""
        return self.intent.contracts - self.filled_contracts


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution. ``fee`` is positive when paid."""

    trade_id: TradeId
    order_id: OrderId
    instrument: InstrumentId
    side: Side
    contracts: int
    price: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts: int

    def __post_init__(self) -> None:
        if self.contracts <= 0:
            raise DomainError(f"fill {self.trade_id}: contracts must be positive, got {self.contracts}")
        if not (self.price.is_finite() and self.price > 0):
            raise DomainError(f"fill {self.trade_id}: price must be positive, got {self.price}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """An open, netted position on one instrument (isolated margin)."""

    instrument: InstrumentId
    side: PositionSide
    contracts: int
    entry_price: Decimal
    leverage: Decimal
    margin: Decimal
    liquidation_price: Decimal | None
    ts_opened: int
    realized_pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.contracts <= 0:
            raise DomainError(f"position on {self.instrument}: contracts must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """A closed round trip, with the context the blueprint's trade log keeps.

    ``pnl`` is net of fees and funding; ``pnl_percent`` is relative to the margin committed.
    """

    id: TradeId
    instrument: InstrumentId
    side: PositionSide
    contracts: int
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    pnl_percent: Decimal
    fees: Decimal
    funding: Decimal
    ts_opened: int
    ts_closed: int
    exit_reason: str
    signal_confidence: float | None = None
    model_predictions: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    market_conditions: Mapping[str, float] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        if self.ts_closed < self.ts_opened:
            raise DomainError(f"trade {self.id}: closed before it was opened")
        object.__setattr__(self, "model_predictions", _frozen_mapping(self.model_predictions))
        object.__setattr__(self, "market_conditions", _frozen_mapping(self.market_conditions))

    @property
    def holding_period_s(self) -> float:
        """Seconds between open and close."""
        return (self.ts_closed - self.ts_opened) / 1000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioState:
    """A snapshot of the account that the risk manager judges intents against.

    The books keep fees and funding apart: ``cash`` is the deposit plus realised PnL before fees
    and funding, ``fees`` and ``funding`` are what was paid (negative when received), so
    ``equity = cash + unrealized_pnl - fees - funding``. ``trades_today`` and ``last_trade_ts``
    count entries (fills that add exposure).
    """

    ts: int
    cash: Decimal
    equity: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    peak_equity: Decimal
    day_start_equity: Decimal
    positions: tuple[Position, ...] = ()
    consecutive_losses: int = 0
    trades_today: int = 0
    last_trade_ts: int | None = None
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)

    @property
    def drawdown(self) -> Decimal:
        """Fractional drop from the equity peak (0 at a new high)."""
        if self.peak_equity <= 0:
            return Decimal(0)
        return max(Decimal(0), (self.peak_equity - self.equity) / self.peak_equity)

    @property
    def daily_pnl_fraction(self) -> Decimal:
        """Today's PnL as a fraction of the equity at the start of the UTC day."""
        if self.day_start_equity <= 0:
            return Decimal(0)
        return (self.equity - self.day_start_equity) / self.day_start_equity


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentMark:
    """The last candle the engine processed on one instrument: its open time, its close (the mark
    price) and the relative volatility given with it (which prices the slippage of the next fills)."""

    instrument: InstrumentId
    candle_ts: int
    price: Decimal
    volatility: float | None = None
