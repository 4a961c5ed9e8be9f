"""A snapshot of the running agent: what the status view, the API and the bot show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from trading_agent.domain import Candle, Position, Signal

if TYPE_CHECKING:
    from trading_agent.agent.agent import TradingAgent

__all__ = ["AgentStatus"]


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """Price, position, PnL, the last signal, breakers and controls, as of the newest candle."""

    session: str
    series: str
    source: str
    mode: str | None
    paused: bool
    stale: bool
    candles: int
    skipped: int
    last_candle: Candle | None
    last_signal: Signal | None
    position: Position | None
    equity: Decimal
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    trades: int
    breakers: Mapping[str, str]

    @classmethod
    def of(cls, agent: TradingAgent) -> AgentStatus:
        """The status of ``agent`` now."""
        engine = agent.engine
        state = engine.portfolio_state()
        return cls(
            session=engine.config.session,
            series=str(agent.series),
            source=agent.source.name,
            mode=agent.mode,
            paused=agent.controls.paused,
            stale=agent.stale(),
            candles=agent.candles,
            skipped=agent.skipped,
            last_candle=agent.last_candle,
            last_signal=agent.last_signal,
            position=engine.position(agent.instrument.id),
            equity=state.equity,
            cash=state.cash,
            realized_pnl=state.realized_pnl,
            unrealized_pnl=state.unrealized_pnl,
            fees=state.fees,
            funding=state.funding,
            trades=len(engine.trades),
            breakers=dict(engine.tripped_breakers),
        )
