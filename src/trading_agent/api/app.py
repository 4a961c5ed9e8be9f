"""The FastAPI app: ``/health``, ``/metrics`` and the versioned routes under ``/api/v1``.

Every ``/api/v1`` route but ``/api/v1/health`` needs the bearer token (``auth``) and counts
against the client's rate limit (``limits``); CORS is off unless origins are configured.
Responses are the service layer's pydantic models; a ``ServiceError`` becomes a JSON
``{"detail": ...}`` with 400 (bad request), 404 (no such job), 409 (the job is past being
canceled), or 503 when the route needs the agent and it does not run in this process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from trading_agent import __version__
from trading_agent.api.auth import TokenAuth
from trading_agent.api.limits import RateLimit, RateLimiter
from trading_agent.api.metrics import ApiMetrics
from trading_agent.api.middleware import REQUEST_ID_HEADER, RequestContext
from trading_agent.api.routes import V1, analytics, backtests, control, journal, portfolio, stream
from trading_agent.api.schemas import GUARDED_ERRORS, Health
from trading_agent.config import AppSettings
from trading_agent.services.agent_service import AgentNotRunningError
from trading_agent.services.agent_views import RequestLimits
from trading_agent.services.errors import ServiceError
from trading_agent.services.interfaces import Services
from trading_agent.services.jobs import JobNotFoundError, JobStateError

__all__ = ["PUBLIC_PATHS", "ApiOptions", "create_app"]

PUBLIC_PATHS = frozenset({"/health", "/api/v1/health", "/metrics"})
"""The only routes served without the token (and without a rate limit)."""
_ERROR_STATUS: tuple[tuple[type[ServiceError], int], ...] = (
    (AgentNotRunningError, 503),
    (JobNotFoundError, 404),
    (JobStateError, 409),
)
"""The status of a ``ServiceError`` by its kind (any other: 400)."""


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """The token (None: no auth, loopback only), the rate limit and the CORS origins."""

    token: SecretStr | None = None
    rate: RateLimit = field(default_factory=RateLimit)
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: AppSettings) -> ApiOptions:
        """The options of ``TRADING_AGENT_API_*`` (the limits counted in Redis when it is configured)."""
        rate = RateLimit(
            limit=settings.api_rate_limit,
            enabled=settings.api_rate_limit_enabled,
            storage_uri=settings.redis_url,
            key_prefix=f"{settings.redis_prefix}ratelimit",
        )
        return cls(token=settings.api_token, rate=rate, cors_origins=tuple(settings.api_cors_origins))


async def _health(services: Services) -> JSONResponse:
    report = await services.health()
    body = Health(
        status="ok" if report.healthy else "degraded",
        version=__version__,
        session=services.agents.session,
        agent="running" if services.agents.agent_running else "absent",
        price=report.price,
        checks=report.checks,
    )
    return JSONResponse(body.model_dump(), status_code=200 if report.healthy else 503)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        code = next((answer for kind, answer in _ERROR_STATUS if isinstance(exc, kind)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=code)


def create_app(services: Services, options: ApiOptions | None = None) -> FastAPI:
    """The API over ``services`` (see the module docstring)."""
    options = options or ApiOptions()
    app = FastAPI(
        title="trading-agent",
        version=__version__,
        description="Paper-trading agent for crypto perpetual futures. Never sends a real order.",
    )
    metrics = ApiMetrics(services)
    if options.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
        )
    app.middleware("http")(RequestContext(metrics.requests))
    _errors(app)

    @app.get("/health", tags=["health"], response_model=Health, responses={503: {"model": Health}})
    async def health() -> JSONResponse:
        """The process serves, with each check (503 when the journal, Redis or the price is failing)."""
        return await _health(services)

    @app.get(f"{V1}/health", tags=["health"], response_model=Health, responses={503: {"model": Health}})
    async def health_v1() -> JSONResponse:
        """The same as ``/health``, under the version prefix."""
        return await _health(services)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    auth = TokenAuth(options.token)
    guarded = [Depends(RateLimiter(options.rate)), Depends(auth)]  # counted before auth: guessing costs too
    routers = [
        portfolio.router(services),
        journal.router(services),
        analytics.router(services),
        control.router(services),
        backtests.router(services),
    ]
    for routes in routers:
        app.include_router(routes, dependencies=guarded, responses=GUARDED_ERRORS)
    _allow_every_method(app, routers)
    app.include_router(stream.router(services, auth))
    limits = services.agents.request_limits()
    if limits is not None:
        _document_the_agents_limits(app, limits)
    return app


def _allow_every_method(app: FastAPI, routers: list[APIRouter]) -> None:
    """A 405's ``Allow`` lists every method of the path (Starlette lists only the first matching route's)."""
    table: list[tuple[re.Pattern[str], set[str]]] = [
        (r.path_regex, r.methods or set()) for routes in routers for r in routes.routes if isinstance(r, APIRoute)
    ]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            allowed = sorted({m for regex, methods in table if regex.match(request.url.path) for m in methods})
            if allowed:
                headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
                exc = StarletteHTTPException(exc.status_code, exc.detail, headers=headers)
        return await http_exception_handler(request, exc)


def _document_the_agents_limits(app: FastAPI, limits: RequestLimits) -> None:
    """Put what the running agent accepts into the OpenAPI document, so a client built from it asks for nothing else.

    The symbol is the one it trades (the service refuses any other with 400, naming it), and a
    maximum position size cannot be below the trading rules' minimum one.
    """
    build = app.openapi
    symbols = list(limits.symbols)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schemas = document["components"]["schemas"]
            for name in ("TradeRequest", "PredictRequest"):
                _restrict(schemas[name]["properties"]["symbol"], enum=symbols)
            for parameter in document["paths"][f"{V1}/data/latest"]["get"]["parameters"]:
                if parameter["name"] == "symbol":
                    _restrict(parameter["schema"], enum=symbols)
            _restrict(schemas["RiskRequest"]["properties"]["max_position_size"], minimum=limits.min_position_size)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _restrict(schema: dict[str, Any], **constraint: object) -> None:
    """Add ``constraint`` to the schema's non-null option (inside ``anyOf`` when the field may be null)."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") != "null":
            option.update(constraint)
