"""Prometheus metrics of the agent and the API, on a registry of the app's own.

The agent's figures are read from the services at scrape time (a custom collector: nothing to keep
in step): trades, PnL, equity, open positions, the feed's fetch errors, breakers, the response
cache and the jobs. Model inference time is a histogram the agent feeds (every candle's answer,
and every ``predict``); request durations are observed by the request middleware
(``api.middleware``), labelled by the route's template, not the raw path, so ids do not explode
the label set.

The blueprint's names map to these: ``trades_total`` is ``trading_agent_trades_total``,
``pnl_total`` ``trading_agent_pnl_usd``, ``open_positions`` ``trading_agent_open_positions``,
``model_inference_time`` ``trading_agent_model_inference_seconds``, ``api_request_duration``
``trading_agent_api_request_duration_seconds`` and ``data_fetch_errors``
``trading_agent_data_fetch_errors_total``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trading_agent.services.interfaces import Services

__all__ = ["ApiMetrics", "ServicesCollector"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServicesCollector(Collector):
    """``trading_agent_*`` figures of the services now (the agent's only when it runs in this process)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        """The metrics now."""
        yield from self._cache_and_jobs()
        agents = self._services.agents
        if agents.fetch_errors is not None:
            help_text = "Failed market-data fetches and unreadable messages"
            yield CounterMetricFamily("trading_agent_data_fetch_errors", help_text, agents.fetch_errors)
        if not agents.agent_running:
            return
        status = agents.status()
        yield CounterMetricFamily("trading_agent_trades", "Closed trades of the session", value=status.trades)
        yield CounterMetricFamily("trading_agent_candles", "Candles traded since start", value=status.candles_traded)
        for name, help_text, value in (
            ("trading_agent_pnl_usd", "Realised PnL of the session, USD", float(status.realized_pnl)),
            ("trading_agent_unrealized_pnl_usd", "Open PnL, USD", float(status.unrealized_pnl)),
            ("trading_agent_equity_usd", "Equity, USD", float(status.equity)),
            ("trading_agent_open_positions", "Open positions", 0 if status.position is None else 1),
            ("trading_agent_paused", "1 while new entries are paused", int(status.paused)),
            ("trading_agent_price_stale", "1 while the last price is older than the staleness limit", status.stale),
            ("trading_agent_breakers_tripped", "Circuit breakers tripped", len(status.breakers)),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)

    def _cache_and_jobs(self) -> Iterator[Metric]:
        cache = self._services.cache
        yield CounterMetricFamily("trading_agent_cache_hits", "Analytics answers served from the cache", cache.hits)
        yield CounterMetricFamily("trading_agent_cache_misses", "Analytics answers computed", cache.misses)
        jobs = GaugeMetricFamily("trading_agent_jobs", "Background jobs kept, by status", labels=["status"])
        for job_status, count in sorted(Counter(job.status for job in self._services.jobs.list()).items()):
            jobs.add_metric([job_status], count)
        yield jobs


class ApiMetrics:
    """The app's registry: the services' collector, the model inference and the request duration histograms."""

    def __init__(self, services: Services) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ServicesCollector(services))
        self.requests = Histogram(
            "trading_agent_api_request_duration_seconds",
            "API request duration",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.inference = Histogram(
            "trading_agent_model_inference_seconds",
            "The signal source's time per answer: every candle's, and every predict request's",
            ["kind"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        agent = services.agents.agent
        if agent is not None:
            agent.observe_inference(lambda kind, seconds: self.inference.labels(kind).observe(seconds))
