"""The services an interface gets (the API now, the Telegram bot and the dashboard next), opened in one place.

``Services.open`` wires the agent's service, the analyses with their response cache (Redis when
``TRADING_AGENT_REDIS_URL`` is set, else in process) and the background jobs from the settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from trading_agent.agent import EventBus, TradingAgent
from trading_agent.config import AppSettings
from trading_agent.data.feeds.base import MarketFeed
from trading_agent.services.agent_service import AgentService
from trading_agent.services.analytics import AnalyticsService
from trading_agent.services.cache import ResponseCache
from trading_agent.services.jobs import JobRunner
from trading_agent.services.journal_queries import JournalQueries
from trading_agent.services.models import ModelService

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["HealthReport", "Services"]


def _outcome(check: Callable[[], Any]) -> str:
    """``ok``, or why ``check`` failed."""
    try:
        check()
    except Exception as exc:  # a health check reports any failure, it does not raise
        return f"failing: {exc}"
    return "ok"


Price = Literal["fresh", "stale", "none"]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Whether the process is healthy, how fresh the agent's price is, and each check in words."""

    healthy: bool
    price: Price
    checks: dict[str, str]


@dataclass(frozen=True, slots=True)
class Services:
    """The agent's service, the analyses and the jobs of one process."""

    agents: AgentService
    analytics: AnalyticsService
    jobs: JobRunner
    _redis: Redis | None = None

    @classmethod
    def open(
        cls,
        settings: AppSettings,
        session: str,
        *,
        agent: TradingAgent | None = None,
        bus: EventBus | None = None,
        feed: MarketFeed | None = None,
    ) -> Services:
        """The services of ``session`` (with the agent, its bus and its feed when it runs in this process)."""
        agents = AgentService(JournalQueries.from_settings(settings), session, agent, bus, feed)
        redis = None
        if settings.redis_url:
            import redis as redis_client

            redis = redis_client.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
        cache = ResponseCache(settings.api_cache_ttl_s, redis=redis, prefix=f"{settings.redis_prefix}cache:")
        analytics = AnalyticsService(agents, cache, lambda: ModelService.from_settings(settings))
        return cls(agents=agents, analytics=analytics, jobs=JobRunner(settings), _redis=redis)

    async def health(self) -> HealthReport:
        """Each check (journal, Redis, agent, feed, signal source) and whether the process is healthy.

        Unhealthy when the journal or a configured Redis does not answer, or the price is stale. The
        agent is read on its event loop; the database and Redis are reached from a worker thread, so
        a slow server never holds the agent up.
        """
        checks = await asyncio.to_thread(self._reach)
        agent = self.agents.agent
        price: Price = "none"
        if agent is None:
            checks |= {"agent": "not in this process", "feed": "no feed in this process", "source": "none"}
        else:
            price = "none" if agent.last_candle is None else "stale" if agent.stale() else "fresh"
            checks["agent"] = "paused" if agent.controls.paused else "trading"
            checks["feed"] = {"none": "no candle yet", "stale": "stale", "fresh": "fresh"}[price]
            seen, needed = agent.window_length, agent.source.warmup
            checks["source"] = f"{agent.source.name} " + (
                "ready" if seen > needed else f"warming up ({seen} of {needed + 1} candles)"
            )
            errors = self.agents.fetch_errors
            if errors:
                checks["feed"] += f" ({errors} fetch errors so far)"
        reached = checks["journal"] == "ok" and checks["redis"] in ("ok", "not configured")
        return HealthReport(healthy=reached and price != "stale", price=price, checks=checks)

    def _reach(self) -> dict[str, str]:
        """Whether the journal's database and the configured Redis answer."""
        return {
            "journal": _outcome(self.agents.journal.ping),
            "redis": "not configured" if self._redis is None else _outcome(self._redis.ping),
        }

    @property
    def cache(self) -> ResponseCache:
        """The analyses' response cache."""
        return self.analytics.cache

    def close(self) -> None:
        """Stop the jobs' worker and close the journal."""
        self.jobs.close()
        self.agents.journal.close()
