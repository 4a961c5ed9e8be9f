"""HTTP transport to Delta Exchange India, built on ccxt's ``delta`` class.

What ccxt does here: the aiohttp session, the URL (``base + /v2/ + path``), query encoding, the
request signature (HMAC-SHA256 of ``METHOD + TIMESTAMP + /v2/PATH + ?QUERY + BODY`` with the
``api-key``/``timestamp``/``signature`` headers, a fresh timestamp per attempt), compact JSON bodies,
the User-Agent the CDN demands, the timeout and a client-side throttle.

What is hand-written and why:

- ccxt 4.5.90 only knows Delta's *global* hosts, so ``urls['api']`` is pointed at the India host
  (without ``/v2``: ccxt adds it) for both ``public`` and ``private``.
- ccxt's error mapping misses Delta's second error shape, drops the ``X-RATE-LIMIT-RESET`` header
  and turns 4xx into "exchange not available"; ``handle_errors`` is overridden to raise this
  project's errors (see ``errors.py``) and transport failures become ``ExchangeUnavailableError``
  at once, with no retry (DNS failure fails fast).
- HTTP 429 on a GET is retried after ``X-RATE-LIMIT-RESET`` ms (capped); mutations never are.
- Endpoints are called with ccxt's generic ``request(path, api, method, params)``, so the paths in
  this package read like Delta's docs; ccxt's unified methods are not used because they need
  ``load_markets`` and convert Delta's symbols, strings and percents into ccxt's conventions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import ccxt.async_support as ccxt
import structlog

from trading_agent.config import ConfigError, DeltaSettings
from trading_agent.data.delta.errors import TooManyRequestsError, error_for_response, unavailable_error
from trading_agent.data.errors import ExchangeError, RateLimitedError

__all__ = ["DeltaClient", "DeltaReply", "DeltaTransport", "RetryPolicy"]

_log = structlog.get_logger(__name__)

# Delta's quota is 10,000 weight per 5 minutes; the GETs used here weigh 3: one per 90 ms at most.
_THROTTLE_MS = 100
# ccxt sleeps this long on close() so TLS transports can shut down; plain HTTP needs no wait.
_TLS_CLOSE_WAIT_MS = 250


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a GET answered with HTTP 429 is retried: after ``X-RATE-LIMIT-RESET`` ms, at most ``max_wait_s``."""

    max_retries: int = 3
    max_wait_s: float = 5.0
    default_wait_s: float = 1.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_wait_s < 0 or self.default_wait_s < 0:
            raise ValueError(f"retry policy values must be >= 0, got {self}")

    def wait_s(self, reset_ms: int | None) -> float:
        """Seconds to wait before the next attempt."""
        wanted = self.default_wait_s if reset_ms is None else reset_ms / 1000
        return min(wanted, self.max_wait_s)


@dataclass(frozen=True, slots=True)
class DeltaReply:
    """The ``result`` of a successful answer and the ``meta.after`` cursor of its page."""

    result: Any
    after: str | None


class _IndiaDelta(ccxt.delta):  # type: ignore[misc]
    """ccxt's ``delta`` with this project's error mapping."""

    def __init__(self, config: dict[str, Any], host: str) -> None:
        super().__init__(config)
        self.india_host = host

    def handle_errors(  # noqa: PLR0917 (ccxt calls this hook positionally)
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body: str,
        response: Any,
        request_headers: Any,
        request_body: Any,
    ) -> None:
        error = error_for_response(self.india_host, code, headers or {}, body or "", response)
        if error is not None:
            raise error


class DeltaTransport:
    """One ccxt session to the configured host; signs requests when ``signed`` (needs key and secret)."""

    def __init__(self, settings: DeltaSettings, *, signed: bool = False, retry: RetryPolicy | None = None) -> None:
        base = settings.resolved_rest_url
        self.host = urlsplit(base).netloc or base
        self._timeout_s = settings.timeout_s
        self._retry = retry or RetryPolicy()
        config: dict[str, Any] = {
            "urls": {"api": {"public": base, "private": base}},
            "timeout": int(settings.timeout_s * 1000),
            "rateLimit": _THROTTLE_MS,
            "timeout_on_exit": _TLS_CLOSE_WAIT_MS if base.startswith("https://") else 0,
        }
        if signed:
            if settings.api_key is None or settings.api_secret is None:
                raise ConfigError(
                    "signed Delta requests need an API key and secret: set TRADING_AGENT_DELTA__API_KEY "
                    "and TRADING_AGENT_DELTA__API_SECRET"
                )
            config["apiKey"] = settings.api_key.get_secret_value()
            config["secret"] = settings.api_secret.get_secret_value()
        self._exchange = _IndiaDelta(config, self.host)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._exchange.close()

    async def get(self, path: str, params: Mapping[str, Any] | None = None, *, signed: bool = False) -> DeltaReply:
        """GET ``/v2/<path>``; retried on HTTP 429 as the retry policy says."""
        api = "private" if signed else "public"
        attempt = 0
        while True:
            try:
                return await self._request(path, api, "GET", params)
            except TooManyRequestsError as hit:
                if attempt >= self._retry.max_retries:
                    raise RateLimitedError(
                        f"Delta Exchange ({self.host}) still rate limits GET /v2/{path} after {attempt + 1} attempt(s)"
                    ) from hit
                attempt += 1
                wait_s = self._retry.wait_s(hit.reset_ms)
                _log.warning("delta_rate_limited", path=path, reset_ms=hit.reset_ms, wait_s=wait_s, retry=attempt)
                await asyncio.sleep(wait_s)

    async def get_list(
        self, path: str, params: Mapping[str, Any] | None = None, *, signed: bool = False
    ) -> tuple[list[Any], str | None]:
        """A GET whose ``result`` must be a list: ``(items, after cursor)``."""
        reply = await self.get(path, params, signed=signed)
        if not isinstance(reply.result, list):
            raise ExchangeError(f"Delta Exchange ({self.host}) /v2/{path}: expected a list result")
        return reply.result, reply.after

    async def get_all(
        self, path: str, params: Mapping[str, Any] | None = None, *, signed: bool = False, page_size: int = 100
    ) -> list[Any]:
        """Every item of a cursor-paginated list endpoint (follows ``meta.after``)."""
        items: list[Any] = []
        query = {**(params or {}), "page_size": page_size}
        while True:
            page, after = await self.get_list(path, query, signed=signed)
            items.extend(page)
            if not after or not page:
                return items
            query = {**query, "after": after}

    async def send(self, method: str, path: str, body: Mapping[str, Any]) -> DeltaReply:
        """A signed mutation (POST/PUT/DELETE with a JSON body); never retried."""
        try:
            return await self._request(path, "private", method, body)
        except TooManyRequestsError as hit:
            raise RateLimitedError(f"{hit} on {method} /v2/{path}: mutations are not retried") from hit

    async def _request(self, path: str, api: str, method: str, params: Mapping[str, Any] | None) -> DeltaReply:
        try:
            response = await self._exchange.request(path, [api], method, dict(params or {}))
        except ccxt.NetworkError as exc:
            raise unavailable_error(self.host, exc, self._timeout_s) from exc
        except ccxt.BaseError as exc:
            raise ExchangeError(f"Delta Exchange ({self.host}) {method} /v2/{path}: {exc}") from exc
        if not isinstance(response, Mapping) or "result" not in response:
            raise ExchangeError(f"Delta Exchange ({self.host}) {method} /v2/{path}: answer has no 'result'")
        meta = response.get("meta")
        after = meta.get("after") if isinstance(meta, Mapping) else None
        return DeltaReply(response["result"], str(after) if after else None)


class DeltaClient:
    """Base of the REST clients: owns a transport; ``async with`` closes its HTTP session."""

    _transport: DeltaTransport

    @property
    def host(self) -> str:
        """The REST host this client talks to."""
        return self._transport.host

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._transport.close()
