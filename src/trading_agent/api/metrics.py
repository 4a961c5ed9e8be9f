"""Prometheus metrics of the agent and the API, on a registry of the app's own.

The agent's figures are read from the service at scrape time (a custom collector: nothing to keep
in step); request durations are observed by a middleware, labelled by the route's template (not
the raw path, so ids do not explode the label set).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trading_agent.services.agent_service import AgentService

__all__ = ["AgentCollector", "RequestTimer", "metrics_registry"]


class AgentCollector(Collector):
    """``trading_agent_*`` metrics of the running agent (none when it does not run in this process)."""

    def __init__(self, service: AgentService) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        """The agent's metrics now."""
        if not self._service.agent_running:
            return
        status = self._service.status()
        yield CounterMetricFamily("trading_agent_trades", "Closed trades of the session", value=status.trades)
        yield CounterMetricFamily("trading_agent_candles", "Candles traded since start", value=status.candles_traded)
        for name, help_text, value in (
            ("trading_agent_pnl", "Realised PnL of the session, USD", float(status.realized_pnl)),
            ("trading_agent_unrealized_pnl", "Open PnL, USD", float(status.unrealized_pnl)),
            ("trading_agent_equity", "Equity, USD", float(status.equity)),
            ("trading_agent_open_positions", "Open positions", 0 if status.position is None else 1),
            ("trading_agent_paused", "1 while new entries are paused", int(status.paused)),
            (
                "trading_agent_price_stale",
                "1 while the last price is older than the staleness limit",
                int(status.stale),
            ),
            ("trading_agent_breakers_tripped", "Circuit breakers tripped", len(status.breakers)),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)


class RequestTimer:
    """Middleware observing each request's duration by method, route template and status code."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.histogram = Histogram(
            "trading_agent_api_request_duration_seconds",
            "API request duration",
            ["method", "route", "status"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )

    async def __call__(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        self.histogram.labels(request.method, template, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


def metrics_registry(service: AgentService) -> CollectorRegistry:
    """A registry with the agent's collector."""
    registry = CollectorRegistry()
    registry.register(AgentCollector(service))
    return registry
