"""What the agent service answers with: positions, signals, status, orders, candles, predictions, risk, alerts.

Pydantic views of the engine's and the agent's state (prices and money as exact decimals, times
as UTC datetimes), so every interface shows the same fields and the API documents them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from trading_agent.agent import AlertPreferences
from trading_agent.domain import Direction, Position, Signal

__all__ = [
    "ACTIONS",
    "AlertPreferences",
    "CandleView",
    "ControlResult",
    "LatestCandles",
    "OrderView",
    "PositionView",
    "PredictionView",
    "RequestLimits",
    "RiskParameters",
    "SignalView",
    "StatusView",
    "utc",
]

ACTIONS: dict[Direction, Literal["buy", "sell", "hold"]] = {
    Direction.LONG: "buy",
    Direction.SHORT: "sell",
    Direction.FLAT: "hold",
}


def utc(ts_ms: int) -> datetime:
    """Epoch milliseconds as a UTC datetime."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


class PositionView(BaseModel):
    """An open position as the engine holds it (prices and money as exact decimals)."""

    symbol: str
    side: str
    contracts: int
    entry_price: Decimal
    leverage: Decimal
    margin: Decimal
    liquidation_price: Decimal | None
    opened: datetime
    realized_pnl: Decimal
    fees: Decimal
    funding: Decimal

    @classmethod
    def of(cls, position: Position) -> PositionView:
        """The view of ``position``."""
        return cls(
            symbol=position.instrument.symbol,
            side=position.side.value,
            contracts=position.contracts,
            entry_price=position.entry_price,
            leverage=position.leverage,
            margin=position.margin,
            liquidation_price=position.liquidation_price,
            opened=utc(position.ts_opened),
            realized_pnl=position.realized_pnl,
            fees=position.fees,
            funding=position.funding,
        )


class SignalView(BaseModel):
    """A signal with every model's vote."""

    symbol: str
    candle: datetime
    direction: str
    strength: float
    confidence: float
    model_votes: dict[str, float]
    anomaly: bool

    @classmethod
    def of(cls, signal: Signal) -> SignalView:
        """The view of ``signal``."""
        return cls(
            symbol=signal.instrument.symbol,
            candle=utc(signal.ts),
            direction=signal.direction.value,
            strength=signal.strength,
            confidence=signal.confidence,
            model_votes=dict(signal.model_votes),
            anomaly=signal.anomaly,
        )


class StatusView(BaseModel):
    """The portfolio and the agent now: balance, PnL, position, last price and signal, controls, breakers."""

    session: str
    series: str
    source: str
    mode: str | None
    paused: bool
    stale: bool
    candles_traded: int
    last_candle: datetime | None
    last_price: float | None
    equity: Decimal
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    trades: int
    position: PositionView | None
    last_signal: SignalView | None
    breakers: dict[str, str]


class OrderView(BaseModel):
    """An order as the engine holds it after the risk gate: accepted, or rejected with the reason."""

    order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    contracts: int
    status: str
    reject_reason: str | None
    created: datetime


class CandleView(BaseModel):
    """A closed candle (open time, UTC)."""

    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class LatestCandles(BaseModel):
    """The newest candles the agent has seen, oldest first."""

    symbol: str
    series: str
    stale: bool
    candles: list[CandleView]


class PredictionView(SignalView):
    """The source's signal now: ``signal`` is ``buy``, ``sell`` or ``hold``; how long the models took.

    ``cached``: the answer was computed for this candle by an earlier request (``inference_ms`` is
    that computation's time).
    """

    signal: Literal["buy", "sell", "hold"]
    source: str
    inference_ms: float
    cached: bool


class RiskParameters(BaseModel):
    """The sizing and minimum confidence of new entries, what overrides them, and the engine's limits."""

    mode: str | None
    method: str
    risk_per_trade: float
    kelly_fraction: float
    max_position_size: Decimal
    min_confidence: float
    overrides: dict[str, Any]
    limits: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """What the agent's routes accept: the symbols it trades, the smallest maximum position size (USD)."""

    symbols: tuple[str, ...]
    min_position_size: float


class ControlResult(BaseModel):
    """What a control request did, and the agent's state after it."""

    command: str
    done: str
    paused: bool
    mode: str | None
    breakers: dict[str, str]
