"""What every interface asks of the paper-trading agent: status, positions, trades, signals, control.

The API (and next the Telegram bot and the dashboard) call this, never the agent, the engine or
the journal directly. Status, positions, control and the live ``events`` (what the agent announces
on its bus, for the WebSocket) need the agent running in this process (``trading-agent run``);
trades and signals come from the journal, so a process without the agent (``trading-agent serve``)
answers them too. Control goes through the agent's journaled controls and runs between two candles
(the API and the agent share one event loop). Every failure is a
``ServiceError``; ``AgentNotRunningError`` says the agent is not in this process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from trading_agent.agent import EventBus, TradingAgent
from trading_agent.domain import DomainError, Position, Side, Signal
from trading_agent.engine.errors import EngineError
from trading_agent.services.errors import ServiceError
from trading_agent.services.journal_queries import JournalQueries, SignalRecord, TradeRecord
from trading_agent.storage.event_codec import encode_event

__all__ = [
    "AgentNotRunningError",
    "AgentService",
    "ControlResult",
    "OrderView",
    "PositionView",
    "SignalView",
    "StatusView",
    "control_agent",
]


class AgentNotRunningError(ServiceError):
    """The request needs the trading agent, which does not run in this process."""


def _utc(ts_ms: int) -> datetime:
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
            opened=_utc(position.ts_opened),
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
            candle=_utc(signal.ts),
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


class ControlResult(BaseModel):
    """What a control request did, and the agent's state after it."""

    command: str
    done: str
    paused: bool
    mode: str | None
    breakers: dict[str, str]


class AgentService:
    """The agent of this process (None for a process that only reads the journal) and its journal."""

    def __init__(
        self, queries: JournalQueries, session: str, agent: TradingAgent | None = None, bus: EventBus | None = None
    ) -> None:
        self._queries = queries
        self.session = session
        self._agent = agent
        self._bus = bus

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Every event the agent announces from now on, as ``{"type": ..., "event": {...}}`` (JSON-ready)."""
        if self._bus is None:
            raise AgentNotRunningError("no event bus in this process: the live stream needs `trading-agent run`")
        async for event in self._bus.subscribe():
            kind, payload = encode_event(event)
            yield {"type": kind, "event": payload}

    @property
    def agent_running(self) -> bool:
        """Whether the agent runs in this process."""
        return self._agent is not None

    def _running(self) -> TradingAgent:
        if self._agent is None:
            raise AgentNotRunningError(
                f"the trading agent does not run in this process (session {self.session!r}): "
                "start it with `trading-agent run` for status and control"
            )
        return self._agent

    def status(self) -> StatusView:
        """Balance, PnL, position, last price and signal, mode, pause and breakers."""
        status = self._running().status()
        candle = status.last_candle
        return StatusView(
            session=status.session,
            series=status.series,
            source=status.source,
            mode=status.mode,
            paused=status.paused,
            stale=status.stale,
            candles_traded=status.candles,
            last_candle=None if candle is None else _utc(candle.ts),
            last_price=None if candle is None else candle.close,
            equity=status.equity,
            cash=status.cash,
            realized_pnl=status.realized_pnl,
            unrealized_pnl=status.unrealized_pnl,
            fees=status.fees,
            funding=status.funding,
            trades=status.trades,
            position=None if status.position is None else PositionView.of(status.position),
            last_signal=None if status.last_signal is None else SignalView.of(status.last_signal),
            breakers=dict(status.breakers),
        )

    def positions(self) -> list[PositionView]:
        """The open positions."""
        agent = self._running()
        position = agent.engine.position(agent.instrument.id)
        return [] if position is None else [PositionView.of(position)]

    def trades(self, *, symbol: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The session's latest closed trades, newest first (the trade log's fields)."""
        records: list[TradeRecord] = self._queries.trades(self.session, symbol=symbol, limit=limit)
        return [record.to_dict() for record in records]

    def signals(
        self, *, symbol: str | None = None, limit: int = 50, include_filtered: bool = True
    ) -> list[dict[str, Any]]:
        """The session's latest signals with every vote and the filters that refused them, newest first."""
        records: list[SignalRecord] = self._queries.signals(
            self.session, symbol=symbol, limit=limit, include_filtered=include_filtered
        )
        return [record.to_dict() for record in records]

    def trade(self, symbol: str, side: str, contracts: int, *, reduce_only: bool = False) -> OrderView:
        """A manual paper order (market, next open) through the risk manager like any other intent."""
        agent = self._running()
        traded = agent.instrument.id.symbol
        if symbol.upper() != traded.upper():
            raise ServiceError(f"unknown symbol {symbol!r}: this agent trades {traded}")
        try:
            order = agent.manual_order(Side(side), contracts, reduce_only=reduce_only)
        except (EngineError, DomainError, ValueError) as exc:
            raise ServiceError(str(exc)) from exc
        return OrderView(
            order_id=order.id,
            client_order_id=order.intent.client_order_id,
            symbol=order.intent.instrument.symbol,
            side=order.intent.side.value,
            contracts=order.intent.contracts,
            status=order.status.value,
            reject_reason=order.reject_reason,
            created=_utc(order.ts_created),
        )

    def control(self, command: str, *, mode: str | None = None, reason: str = "") -> ControlResult:
        """Pause, resume, set the mode or stop in an emergency (journaled by the agent)."""
        return control_agent(
            self._running(), command, mode=mode, reason=reason or f"{command} requested through the API"
        )


def control_agent(agent: TradingAgent, command: str, *, mode: str | None = None, reason: str) -> ControlResult:
    """The one way a person's control reaches ``agent`` (the API, the status view's keys, next the bot)."""
    try:
        match command:
            case "pause":
                agent.pause(reason)
                done = "paused"
            case "resume":
                agent.resume(reason)
                done = "resumed"
            case "mode":
                if mode is None:
                    raise ServiceError("a mode change needs the mode: conservative, moderate or aggressive")
                agent.set_mode(mode, reason)
                done = f"mode {mode}"
            case "emergency_stop":
                agent.emergency_stop(reason)
                done = "emergency stop: positions close at the next open, entries stopped until resume"
            case _:
                raise ServiceError(f"unknown control {command!r}: pause, resume, mode or emergency_stop")
    except EngineError as exc:
        raise ServiceError(str(exc)) from exc
    return ControlResult(
        command=command,
        done=done,
        paused=agent.controls.paused,
        mode=agent.mode,
        breakers=dict(agent.engine.tripped_breakers),
    )
