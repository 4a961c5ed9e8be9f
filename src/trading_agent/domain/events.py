"""Events: immutable facts published on the bus after they are journaled.

Every event carries ``event_id`` (a unique string: a UUID4 by default; the engine gives its own
events ids made of its session and a sequence number, so a replay writes an identical journal),
``ts_event`` (when it happened in the market or simulation, epoch ms UTC) and ``ts_init`` (when the
object was created by the producer's clock, epoch ms UTC: market time in a backtest or replay).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from trading_agent.domain.market import Candle, FundingRate, InstrumentId, SeriesKey
from trading_agent.domain.trading import (
    AgentCommand,
    AnomalyAction,
    Fill,
    InstrumentMark,
    Order,
    OrderIntent,
    PortfolioState,
    Position,
    Signal,
    Trade,
)

__all__ = [
    "AgentControlled",
    "CandleClosed",
    "CircuitBreakerReset",
    "CircuitBreakerTripped",
    "EquitySnapshotTaken",
    "Event",
    "FeedGapBackfilled",
    "FundingApplied",
    "MarketAnomaly",
    "ModelDrift",
    "OrderAccepted",
    "OrderAmended",
    "OrderCanceled",
    "OrderFillRefused",
    "OrderFilled",
    "OrderRejected",
    "OrderSubmitted",
    "PositionChanged",
    "PositionClosed",
    "PositionLiquidated",
    "PositionOpened",
    "RiskApproved",
    "RiskRejected",
    "SignalFiltered",
    "SignalGenerated",
]


def _new_event_id() -> str:
    return str(uuid.uuid4())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event."""

    ts_event: int
    event_id: str = field(default_factory=_new_event_id)
    ts_init: int = field(default_factory=_now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class CandleClosed(Event):
    """A candle of ``series`` closed; ``ts_event`` is its close time."""

    series: SeriesKey
    candle: Candle


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedGapBackfilled(Event):
    """The live feed reconnected and replaced ``missing`` candles over REST."""

    series: SeriesKey
    missing: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalGenerated(Event):
    """The signal engine produced a signal."""

    signal: Signal


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskApproved(Event):
    """The risk manager let an intent through, as ``intent``.

    ``requested_contracts`` is the size asked for when the risk manager changed it (the anomaly
    filter halves new exposure), else ``None``.
    """

    intent: OrderIntent
    requested_contracts: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskRejected(Event):
    """The risk manager refused an intent; ``violations`` names every limit it broke."""

    intent: OrderIntent
    violations: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted(Event):
    """An order entered the engine."""

    order: Order


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(Event):
    """The engine accepted an order (it rests or will fill)."""

    order: Order


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(Event):
    """The engine refused an order, with the reason."""

    order: Order
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCanceled(Event):
    """An order was canceled, with the reason."""

    order: Order
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAmended(Event):
    """An open order's size or prices changed (a person's amend, a trailing stop, a triggered stop-limit)."""

    order: Order
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFillRefused(Event):
    """A fill was refused (slippage over the limit, not enough margin); ``attempt`` counts from 1."""

    order: Order
    reason: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(Event):
    """An order was filled, wholly or partly."""

    order: Order
    fill: Fill


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionOpened(Event):
    """A new position."""

    position: Position


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChanged(Event):
    """A position grew, shrank or was re-margined."""

    position: Position


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionClosed(Event):
    """A position went flat; ``trade`` is the round trip."""

    trade: Trade


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionLiquidated(Event):
    """The mark price reached the liquidation price."""

    trade: Trade


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingApplied(Event):
    """Funding was paid (positive ``amount``) or received on an open position."""

    instrument: InstrumentId
    rate: FundingRate
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitBreakerTripped(Event):
    """A breaker stopped new entries."""

    breaker: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitBreakerReset(Event):
    """A breaker was reset (by its condition or by a person)."""

    breaker: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EquitySnapshotTaken(Event):
    """A snapshot of the account and the marks it was valued at.

    The engine writes one with every committed step: it is the journal's resume point (which
    candle each instrument reached) and holds what depends on prices rather than on events
    (peak and day-start equity).
    """

    state: PortfolioState
    marks: tuple[InstrumentMark, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketAnomaly(Event):
    """The anomaly detector's flag on ``instrument`` turned on (``active``) or off at a candle close.

    ``score`` and ``threshold`` are the detector's (flagged when ``score > threshold``); ``action``
    is what the risk manager does with new entries meanwhile (``off``, ``halve``, ``block``).
    """

    instrument: InstrumentId
    active: bool
    score: float
    threshold: float
    action: AnomalyAction


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelDrift(Event):
    """A model's recent accuracy fell below its long-run accuracy by more than ``threshold``."""

    model: str
    short_accuracy: float
    long_accuracy: float
    threshold: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalFiltered(Event):
    """A signal the agent's filters kept from becoming an order; ``reasons`` names each filter that refused it.

    Filter names: ``min_confidence``, ``timeframes``, ``volume``, ``model_sharpe``, ``trading_hours``,
    ``stale_price``, ``paused``, and the RL advisor's ``rl_vote`` and ``rl_sizing``.
    """

    signal: Signal
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentControlled(Event):
    """A person steered the running agent: ``command`` with its ``value`` (the mode for ``set_mode``)."""

    command: AgentCommand
    value: str | None = None
    reason: str = ""
