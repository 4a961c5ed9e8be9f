"""The read-mostly analyses every interface shows: performance, the day's analytics, risk, market, models.

Each is computed from the journal and the running agent (``AgentService``) and cached
(``ResponseCache``) under a key holding the journal's version, so an answer is recomputed as soon
as the agent journals something new, and at most every ``ttl_s`` seconds otherwise. The methods are
coroutines for the agent's event loop: what they read of the agent they read there, between two
candles; the journal queries and the computation run in a worker thread, so a long session's
analysis never holds the agent up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from trading_agent.services.agent_service import AgentNotRunningError, AgentService
from trading_agent.services.agent_views import utc
from trading_agent.services.cache import ResponseCache
from trading_agent.services.errors import ServiceError
from trading_agent.services.market_analysis import MarketAnalysis, market_analysis
from trading_agent.services.model_status import ModelStatus, recent_accuracy
from trading_agent.services.models import ModelService
from trading_agent.services.performance import DailyAnalytics, PerformanceReport, Period, daily_analytics, performance
from trading_agent.services.risk_view import RiskView, risk_view

if TYPE_CHECKING:
    from trading_agent.agent import TradingAgent

__all__ = ["AnalyticsService"]

_SCORED_SIGNALS = 2000
_DAY_MS = 86_400_000
Answer = TypeVar("Answer", bound=BaseModel)


class AnalyticsService:
    """Performance, daily analytics, risk, market analysis and model status of the agent's session."""

    def __init__(
        self, agents: AgentService, cache: ResponseCache, models: Callable[[], ModelService] | None = None
    ) -> None:
        self._agents = agents
        self._cache = cache
        self._open_models = models
        self._models: ModelService | None = None

    @property
    def cache(self) -> ResponseCache:
        """The response cache the analyses are kept in."""
        return self._cache

    def _key(self, kind: str, *parts: object) -> str:
        return ":".join((kind, self._agents.session, self._agents.journal_version(), *map(str, parts)))

    async def performance(self, period: Period = "day") -> PerformanceReport:
        """Returns, PnL and trades by day, week or month, with the backtest's metrics on the daily curve."""
        agents, live = self._agents, self._agents.live_point()

        def compute() -> PerformanceReport:
            trades = agents.journal.trades(agents.session, limit=None)
            return performance(agents.session, agents.equity_points(live), trades, period)

        return await self._cached(self._key("performance", period), PerformanceReport, compute)

    async def daily(self, day: date | None = None) -> DailyAnalytics:
        """One UTC day (default: the journal's newest): trades, PnL, costs, signals."""
        agents, live = self._agents, self._agents.live_point()

        def compute() -> DailyAnalytics:
            session, points = agents.session, agents.equity_points(live)
            chosen = day or (utc(points[-1].ts).date() if points else datetime.now(UTC).date())
            start = int(datetime.combine(chosen, time(), UTC).timestamp() * 1000)
            span = (start, start + _DAY_MS)  # only the day's rows: a long session's journal is not read whole
            trades = agents.journal.trades(session, limit=None, between=span)
            signals = agents.journal.signals(session, limit=None, between=span)
            return daily_analytics(session, points, trades, signals, chosen)

        return await self._cached(self._key("daily", day), DailyAnalytics, compute)

    async def risk(self) -> RiskView:
        """VaR and CVaR, Sharpe and Sortino, drawdowns, leverage, breakers and the risk score."""
        agents, live, exposure = self._agents, self._agents.live_point(), self._agents.exposure()

        def compute() -> RiskView:
            return risk_view(agents.session, agents.equity_points(live), exposure)

        return await self._cached(self._key("risk"), RiskView, compute)

    async def market(self) -> MarketAnalysis:
        """Trend, its strength, volatility and its regime at the newest candle of the agent's window."""
        agent = self._agent("market analysis")
        symbol, series, bars = agent.instrument.id.symbol, agent.series, agent.bars()

        def compute() -> MarketAnalysis:
            return market_analysis(symbol, str(series), series.timeframe, bars)

        newest = None if len(bars) == 0 else int(bars.ts[-1])
        return await self._cached(self._key("market", newest), MarketAnalysis, compute)

    async def models(self, horizon: int = 24) -> ModelStatus:
        """The registry's versions, the running source and its recent accuracy at ``horizon`` candles."""
        if horizon < 1:
            raise ServiceError(f"horizon must be at least 1 candle, got {horizon}")
        agents, agent = self._agents, self._agents.agent
        source, bars = (None, None) if agent is None else (agent.source.name, agent.bars())

        def compute() -> ModelStatus:
            registry, error = None, None
            if self._open_models is None:
                error = "no model registry configured"
            else:
                try:
                    self._models = self._models or self._open_models()
                    registry = self._models.list_versions()
                except ServiceError as exc:
                    error = str(exc)
            accuracy = None
            if bars is not None:
                signals = agents.journal.signals(agents.session, limit=_SCORED_SIGNALS)
                accuracy = recent_accuracy(signals, bars, horizon)
            return ModelStatus(source=source, registry=registry, registry_error=error, accuracy=accuracy)

        return await self._cached(self._key("models", horizon), ModelStatus, compute)

    async def _cached(self, key: str, model: type[Answer], compute: Callable[[], Answer]) -> Answer:
        """The cached answer, else ``compute()`` in a worker thread (the database and pandas, off the event loop)."""
        return await asyncio.to_thread(self._cache.get_or_compute, key, model, compute)

    def _agent(self, what: str) -> TradingAgent:
        agent = self._agents.agent
        if agent is None:
            raise AgentNotRunningError(f"{what} reads the running agent's candles: start it with `trading-agent run`")
        return agent
