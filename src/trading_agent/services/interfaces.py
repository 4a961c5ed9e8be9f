"""The services an interface gets (the API now, the Telegram bot and the dashboard next), opened in one place.

``Services.open`` wires the agent's service, the analyses with their response cache (Redis when
``TRADING_AGENT_REDIS_URL`` is set, else in process) and the background jobs from the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

__all__ = ["Services"]


def _outcome(check: Callable[[], Any]) -> str:
    """``ok``, or why ``check`` failed."""
    try:
        check()
    except Exception as exc:  # a health check reports any failure, it does not raise
        return f"failing: {exc}"
    return "ok"


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

    def health(self) -> tuple[bool, dict[str, str]]:
        """Whether the process is healthy, and each check: journal, Redis, agent, feed, signal source.

        Unhealthy when the journal or a configured Redis does not answer, or the price is stale.
        """
        checks = {"journal": _outcome(self.agents.journal.ping)}
        checks["redis"] = "not configured" if self._redis is None else _outcome(self._redis.ping)
        agent = self.agents.agent
        if agent is None:
            checks |= {"agent": "not in this process", "feed": "no feed in this process", "source": "none"}
        else:
            checks["agent"] = "paused" if agent.controls.paused else "trading"
            checks["feed"] = "no candle yet" if agent.last_candle is None else "stale" if agent.stale() else "fresh"
            seen, needed = agent.window_length, agent.source.warmup
            checks["source"] = f"{agent.source.name} " + (
                "ready" if seen > needed else f"warming up ({seen} of {needed + 1} candles)"
            )
            errors = self.agents.fetch_errors
            if errors:
                checks["feed"] += f" ({errors} fetch errors so far)"
        healthy = checks["journal"] == "ok" and checks["redis"] in ("ok", "not configured")
        return healthy and not checks["feed"].startswith("stale"), checks

    @property
    def cache(self) -> ResponseCache:
        """The analyses' response cache."""
        return self.analytics.cache

    def close(self) -> None:
        """Stop the jobs' worker and close the journal."""
        self.jobs.close()
        self.agents.journal.close()
