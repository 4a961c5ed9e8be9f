"""Per-client rate limits: every route but ``/health`` and ``/metrics``, 429 with ``Retry-After``.

The limit is ``TRADING_AGENT_API_RATE_LIMIT`` (default ``100/minute``, the blueprint's) per client
address across every route, a fixed window counted in Redis when ``TRADING_AGENT_REDIS_URL`` is set
(so every process on it shares the count) and in process otherwise;
``TRADING_AGENT_API_RATE_LIMIT_ENABLED=false`` turns it off. Each answer carries
``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``.

The counting is the ``limits`` library's, the engine slowapi runs on. slowapi's own middleware is
not used: it looks a request's route up in the app's route list, where FastAPI 0.165 keeps an
included router as one entry without an endpoint, so it found no route and limited nothing. A
dependency on the guarded routers has the route already.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request, Response, status
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

__all__ = ["RateLimit", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """How many requests a client may make (``100/minute``), where they are counted, and whether at all."""

    limit: str = "100/minute"
    enabled: bool = True
    storage_uri: str | None = None
    key_prefix: str = "trading_agent:ratelimit"


class RateLimiter:
    """A FastAPI dependency counting each client's requests against ``RateLimit`` (429 beyond it)."""

    def __init__(self, rate: RateLimit) -> None:
        self.rate = rate
        self._item = parse(rate.limit)
        uri = rate.storage_uri or "memory://"
        self._remote = uri.startswith(("redis://", "rediss://"))  # counted over the network: off the event loop
        options = {"key_prefix": rate.key_prefix} if self._remote else {}
        self._window = FixedWindowRateLimiter(storage_from_string(uri, **options))

    async def __call__(self, request: Request, response: Response) -> None:
        if not self.rate.enabled:
            return
        client = request.client.host if request.client else "unknown"
        count = self._count
        allowed, remaining, reset_time = await asyncio.to_thread(count, client) if self._remote else count(client)
        headers = {"X-RateLimit-Limit": str(self._item.amount), "X-RateLimit-Remaining": str(remaining)}
        if not allowed:
            retry_after = max(1, math.ceil(reset_time - time.time()))
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"rate limit exceeded: {self.rate.limit} per client; retry in {retry_after} s",
                headers=headers | {"Retry-After": str(retry_after)},
            )
        response.headers.update(headers)

    def _count(self, client: str) -> tuple[bool, int, float]:
        """Count a request of ``client``: whether it is allowed, how many remain, when the window resets."""
        allowed = self._window.hit(self._item, client)
        stats = self._window.get_window_stats(self._item, client)
        return allowed, stats.remaining, stats.reset_time
