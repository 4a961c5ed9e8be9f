"""Per request: a request id, the log context, the access log line and the duration metric.

The id is the client's ``X-Request-ID`` when it is a sane token (1-64 letters, digits, ``-``,
``_``, ``.``), else a new one; it comes back in the response's ``X-Request-ID`` and is bound to
structlog's context with the client's address, so every log line of the request (the audit log's
included) carries both. Successful requests log at debug, refused and failed ones at info.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import Request, Response
from prometheus_client import Histogram

__all__ = ["REQUEST_ID_HEADER", "RequestContext"]

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_log = structlog.get_logger("trading_agent.api")
_CLIENT_ERRORS = 400


class RequestContext:
    """HTTP middleware: request id, log context, access log, duration by method, route template and status."""

    def __init__(self, durations: Histogram) -> None:
        self._durations = durations

    async def __call__(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        client = request.client.host if request.client else "unknown"
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id, client=client):
            response = await call_next(request)
            elapsed = time.perf_counter() - started
            route = getattr(request.scope.get("route"), "path", "unmatched")
            self._durations.labels(request.method, route, str(response.status_code)).observe(elapsed)
            log = _log.info if response.status_code >= _CLIENT_ERRORS else _log.debug
            log("api_request", method=request.method, route=route, status=response.status_code, ms=elapsed * 1000)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
