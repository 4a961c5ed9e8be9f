"""The read-mostly analyses every interface shows: performance, the day's analytics, risk, market, models.

Each is computed from the journal and the running agent (``AgentService``) and cached
(``ResponseCache``) under a key holding the journal's version, so an answer is recomputed as soon
as the agent journals something new, and at most every ``ttl_s`` seconds otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from trading_agent.services.agent_service import AgentNotRunningError, AgentService
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

    def performance(self, period: Period = "day") -> PerformanceReport:
        """Returns, PnL and trades by day, week or month, with the backtest's metrics on the daily curve."""
        agents = self._agents

        def compute() -> PerformanceReport:
            trades = agents.journal.trades(agents.session, limit=None)
            return performance(agents.session, agents.equity_points(), trades, period)

        return self._cache.get_or_compute(self._key("performance", period), PerformanceReport, compute)

    def daily(self, day: date | None = None) -> DailyAnalytics:
        """One UTC day (default: the journal's newest): trades, PnL, costs, signals."""
        agents = self._agents

        def compute() -> DailyAnalytics:
            session = agents.session
            trades = agents.journal.trades(session, limit=None)
            signals = agents.journal.signals(session, limit=None)
            return daily_analytics(session, agents.equity_points(), trades, signals, day)

        return self._cache.get_or_compute(self._key("daily", day), DailyAnalytics, compute)

    def risk(self) -> RiskView:
        """VaR and CVaR, Sharpe and Sortino, drawdowns, leverage, breakers and the risk score."""
        agents = self._agents

        def compute() -> RiskView:
            return risk_view(agents.session, agents.equity_points(), agents.exposure())

        return self._cache.get_or_compute(self._key("risk"), RiskView, compute)

    def market(self) -> MarketAnalysis:
        """Trend, its strength, volatility and its regime at the newest candle of the agent's window."""
        agent = self._agent("market analysis")

        def compute() -> MarketAnalysis:
            return market_analysis(agent.instrument.id.symbol, str(agent.series), agent.series.timeframe, agent.bars())

        last = agent.last_candle
        return self._cache.get_or_compute(
            self._key("market", None if last is None else last.ts), MarketAnalysis, compute
        )

    def models(self, horizon: int = 24) -> ModelStatus:
        """The registry's versions, the running source and its recent accuracy at ``horizon`` candles."""
        if horizon < 1:
            raise ServiceError(f"horizon must be at least 1 candle, got {horizon}")
        agents = self._agents

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
            agent = agents.agent
            accuracy = None
            if agent is not None:
                signals = agents.journal.signals(agents.session, limit=_SCORED_SIGNALS)
                accuracy = recent_accuracy(signals, agent.bars(), horizon)
            return ModelStatus(
                source=None if agent is None else agent.source.name,
                registry=registry,
                registry_error=error,
                accuracy=accuracy,
            )

        return self._cache.get_or_compute(self._key("models", horizon), ModelStatus, compute)

    def _agent(self, what: str) -> TradingAgent:
        agent = self._agents.agent
        if agent is None:
            raise AgentNotRunningError(f"{what} reads the running agent's candles: start it with `trading-agent run`")
        return agent
