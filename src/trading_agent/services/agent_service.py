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

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from trading_agent.agent import AlertPreferences, EventBus, RiskOverrides, TradingAgent
from trading_agent.data.feeds.base import MarketFeed
from trading_agent.domain import DomainError, Side
from trading_agent.engine.errors import EngineError
from trading_agent.services.agent_views import (
    ACTIONS,
    CandleView,
    ControlResult,
    LatestCandles,
    OrderView,
    PositionView,
    PredictionView,
    RequestLimits,
    RiskParameters,
    SignalView,
    StatusView,
    utc,
)
from trading_agent.services.audit import audit
from trading_agent.services.errors import ServiceError
from trading_agent.services.journal_queries import EquityPoint, JournalQueries
from trading_agent.services.journal_views import SignalLogEntry, TradeLogEntry
from trading_agent.services.risk_view import Exposure
from trading_agent.storage.event_codec import encode_event

__all__ = ["AgentNotRunningError", "AgentService", "control_agent"]


class AgentNotRunningError(ServiceError):
    """The request needs the trading agent, which does not run in this process."""


class AgentService:
    """The agent of this process (None for a process that only reads the journal) and its journal."""

    def __init__(
        self,
        queries: JournalQueries,
        session: str,
        agent: TradingAgent | None = None,
        bus: EventBus | None = None,
        feed: MarketFeed | None = None,
    ) -> None:
        self._queries = queries
        self.session = session
        self._agent = agent
        self._bus = bus
        self._feed = feed
        self._prediction: PredictionView | None = None

    @property
    def fetch_errors(self) -> int | None:
        """What went wrong fetching the agent's market data so far (None: no feed in this process)."""
        return None if self._feed is None else self._feed.fetch_errors

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

    @property
    def agent(self) -> TradingAgent | None:
        """The agent of this process, for the other services (None: it does not run here)."""
        return self._agent

    @property
    def journal(self) -> JournalQueries:
        """The journal's queries."""
        return self._queries

    def journal_version(self) -> str:
        """Changes whenever the agent journals something (``journal``: no agent here to tell)."""
        return "journal" if self._agent is None else str(self._agent.engine.sequence)

    def live_point(self) -> EquityPoint | None:
        """The running agent's equity now (None without the agent, or before its first candle)."""
        if self._agent is None or self._agent.last_candle is None:
            return None
        state = self._agent.engine.portfolio_state()
        return EquityPoint(ts=state.ts, equity=state.equity, in_position=bool(state.positions))

    def equity_points(self, live: EquityPoint | None) -> list[EquityPoint]:
        """The session's equity snapshots, oldest first, with ``live`` (``live_point``) as the newest when it is."""
        points = self._queries.equity_curve(self.session)
        if live is not None and (not points or live.ts > points[-1].ts):
            points.append(live)
        return points

    def exposure(self) -> Exposure | None:
        """The running agent's open notional, tripped breakers and limits (None without the agent)."""
        agent = self._agent
        if agent is None:
            return None
        position = agent.engine.position(agent.instrument.id)
        candle = agent.last_candle
        notional = 0.0
        if position is not None and candle is not None:
            notional = float(agent.instrument.notional(position.contracts, Decimal(repr(candle.close))))
        return Exposure(
            notional=notional,
            breakers=dict(agent.engine.tripped_breakers),
            limits=asdict(agent.engine.config.limits),
        )

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
            last_candle=None if candle is None else utc(candle.ts),
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

    def trades(self, *, symbol: str | None = None, limit: int = 50) -> list[TradeLogEntry]:
        """The session's latest closed trades, newest first (the trade log's fields)."""
        return [TradeLogEntry.of(r) for r in self._queries.trades(self.session, symbol=symbol, limit=limit)]

    def signals(
        self, *, symbol: str | None = None, limit: int = 50, include_filtered: bool = True
    ) -> list[SignalLogEntry]:
        """The session's latest signals with every vote and the filters that refused them, newest first."""
        records = self._queries.signals(self.session, symbol=symbol, limit=limit, include_filtered=include_filtered)
        return [SignalLogEntry.of(record) for record in records]

    def request_limits(self) -> RequestLimits | None:
        """What the running agent's routes accept (None without the agent)."""
        agent = self._agent
        if agent is None:
            return None
        return RequestLimits(
            symbols=(agent.instrument.id.symbol,), min_position_size=float(agent.entry_rules()[0].min_position_size)
        )

    def _traded(self, symbol: str | None) -> TradingAgent:
        """The agent, when it trades ``symbol`` (None: whatever it trades); else ``ServiceError``."""
        agent = self._running()
        traded = agent.instrument.id.symbol
        if symbol is not None and symbol.upper() != traded.upper():
            raise ServiceError(f"unknown symbol {symbol!r}: this agent trades {traded}")
        return agent

    def latest(self, symbol: str | None = None, limit: int = 1) -> LatestCandles:
        """The newest ``limit`` closed candles the agent has seen, oldest first, and whether they are stale."""
        agent = self._traded(symbol)
        bars = agent.bars()
        rows = range(max(0, len(bars) - limit), len(bars))
        return LatestCandles(
            symbol=agent.instrument.id.symbol,
            series=str(agent.series),
            stale=agent.stale(),
            candles=[
                CandleView(
                    ts=utc(int(bars.ts[i])),
                    open=float(bars.open[i]),
                    high=float(bars.high[i]),
                    low=float(bars.low[i]),
                    close=float(bars.close[i]),
                    volume=float(bars.volume[i]),
                )
                for i in rows
            ],
        )

    def predict(self, symbol: str | None = None) -> PredictionView:
        """The source's signal at the newest close (nothing traded); ``ServiceError`` before its first.

        The models run once per candle: the source's answer depends only on the candles it has
        taken in, so later requests for the same newest candle get the same answer from memory
        (``cached``), with the time the models took for it.
        """
        agent = self._traded(symbol)
        newest = None if agent.last_candle is None else agent.last_candle.ts
        memo = self._prediction
        if memo is not None and newest is not None and memo.candle == utc(newest):
            return memo.model_copy(update={"cached": True})
        started = time.perf_counter()
        signal = agent.predict()
        elapsed_ms = (time.perf_counter() - started) * 1000
        if signal is None:
            raise ServiceError(
                f"{agent.source.name} has no signal yet: it is warming up ({agent.window_length} candles)"
            )
        prediction = PredictionView(
            **SignalView.of(signal).model_dump(),
            signal=ACTIONS[signal.direction],
            source=agent.source.name,
            inference_ms=elapsed_ms,
            cached=False,
        )
        self._prediction = prediction
        return prediction

    def risk_parameters(self) -> RiskParameters:
        """The sizing and minimum confidence of new entries in force, the overrides, and the engine's limits."""
        agent = self._running()
        sizing, confidence = agent.entry_rules()
        return RiskParameters(
            mode=agent.mode,
            method=sizing.method.value,
            risk_per_trade=sizing.risk_per_trade,
            kelly_fraction=sizing.kelly_fraction,
            max_position_size=sizing.max_position_size,
            min_confidence=confidence,
            overrides=agent.controls.risk.changes(),
            limits=asdict(agent.engine.config.limits),
        )

    def set_risk(self, changes: Mapping[str, Any], reason: str = "") -> RiskParameters:
        """Override values of the sizing and minimum confidence (merged into the overrides in force; journaled)."""
        agent = self._running()
        try:
            overrides = agent.controls.risk.merged(RiskOverrides(**changes))
            agent.set_risk(overrides, reason or "risk parameters set through the API")
        except (EngineError, DomainError, ValueError, TypeError) as exc:
            raise ServiceError(str(exc)) from exc
        audit("set_risk", changes={k: str(v) for k, v in changes.items()})
        return self.risk_parameters()

    def alerts(self) -> AlertPreferences:
        """What the agent announces to people."""
        return self._running().controls.alerts

    def set_alerts(self, preferences: AlertPreferences, reason: str = "") -> AlertPreferences:
        """Replace the alert preferences (journaled)."""
        agent = self._running()
        try:
            agent.set_alerts(preferences, reason or "alert preferences set through the API")
        except EngineError as exc:
            raise ServiceError(str(exc)) from exc
        audit("set_alerts", preferences=asdict(preferences))
        return agent.controls.alerts

    def trade(self, symbol: str, side: str, contracts: int, *, reduce_only: bool = False) -> OrderView:
        """A manual paper order (market, next open) through the risk manager like any other intent."""
        agent = self._traded(symbol)
        try:
            order = agent.manual_order(Side(side), contracts, reduce_only=reduce_only)
        except (EngineError, DomainError, ValueError) as exc:
            raise ServiceError(str(exc)) from exc
        audit("trade", side=side, contracts=contracts, reduce_only=reduce_only, status=order.status.value)
        return OrderView(
            order_id=order.id,
            client_order_id=order.intent.client_order_id,
            symbol=order.intent.instrument.symbol,
            side=order.intent.side.value,
            contracts=order.intent.contracts,
            status=order.status.value,
            reject_reason=order.reject_reason,
            created=utc(order.ts_created),
        )

    def control(self, command: str, *, mode: str | None = None, reason: str = "") -> ControlResult:
        """Pause, resume, set the mode or stop in an emergency (journaled by the agent)."""
        result = control_agent(
            self._running(), command, mode=mode, reason=reason or f"{command} requested through the API"
        )
        audit("control", command=command, mode=mode, done=result.done)
        return result


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
