"""The FastAPI app: ``/health``, ``/metrics`` and the versioned routes under ``/api/v1``.

Every ``/api/v1`` route but ``/api/v1/health`` needs the bearer token (``auth``). Responses are the
service layer's pydantic models; a ``ServiceError`` becomes a JSON ``{"detail": ...}`` with 400
(bad request), or 503 when the route needs the agent and it does not run in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, SecretStr

from trading_agent import __version__
from trading_agent.api.auth import TokenAuth
from trading_agent.api.metrics import RequestTimer, metrics_registry
from trading_agent.services.agent_service import (
    AgentNotRunningError,
    AgentService,
    ControlResult,
    OrderView,
    PositionView,
    StatusView,
)
from trading_agent.services.errors import ServiceError

__all__ = ["PUBLIC_PATHS", "create_app"]

_V1 = "/api/v1"
PUBLIC_PATHS = frozenset({"/health", "/api/v1/health", "/metrics"})
"""The only routes served without the token."""

Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many rows, newest first.")]
Symbol = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,32}$", description="Only this symbol.")]


class Health(BaseModel):
    """Whether the process serves, and what it has."""

    status: Literal["ok"]
    version: str
    session: str
    agent: Literal["running", "absent"]
    price: Literal["fresh", "stale", "none"]


class ModeRequest(BaseModel):
    """The risk mode to switch to."""

    mode: Literal["conservative", "moderate", "aggressive"]
    reason: str = Field(default="", max_length=200)


class TradeRequest(BaseModel):
    """A manual paper order: market, filled at the next candle's open, through the risk manager."""

    symbol: str = Field(pattern=r"^[A-Za-z0-9-]{1,32}$", examples=["BTCUSD"])
    side: Literal["buy", "sell"]
    size: int = Field(ge=1, le=100_000, description="contracts")
    reduce_only: bool = False


class ControlRequest(BaseModel):
    """Why (journaled with the control)."""

    reason: str = Field(default="", max_length=200)


def _health(service: AgentService) -> Health:
    price: Literal["fresh", "stale", "none"] = "none"
    if service.agent_running:
        status = service.status()
        price = "none" if status.last_candle is None else "stale" if status.stale else "fresh"
    return Health(
        status="ok",
        version=__version__,
        session=service.session,
        agent="running" if service.agent_running else "absent",
        price=price,
    )


def _v1(app: FastAPI, service: AgentService, auth: TokenAuth) -> None:
    """The ``/api/v1`` routes, on the app itself (full paths: the metrics label routes by them)."""
    guarded = [Depends(auth)]

    @app.get(f"{_V1}/health", tags=["health"])
    def health_v1() -> Health:
        """The process serves; the agent runs in it (or not); its last price is fresh (or stale)."""
        return _health(service)

    @app.get(f"{_V1}/portfolio/status", dependencies=guarded, tags=["portfolio"])
    def portfolio_status() -> StatusView:
        """Balance, PnL, position, last price and signal, mode, pause and breakers."""
        return service.status()

    @app.get(f"{_V1}/positions", dependencies=guarded, tags=["portfolio"])
    def positions() -> list[PositionView]:
        """The open positions."""
        return service.positions()

    @app.get(f"{_V1}/trades", dependencies=guarded, tags=["journal"])
    def trades(limit: Limit = 50, symbol: Symbol = None) -> list[dict[str, Any]]:
        """The trade log: the session's latest closed trades."""
        return service.trades(symbol=symbol, limit=limit)

    @app.get(f"{_V1}/signals", dependencies=guarded, tags=["journal"])
    def signals(limit: Limit = 50, symbol: Symbol = None, include_filtered: bool = True) -> list[dict[str, Any]]:
        """The latest signals, every model's vote, and the filters that refused them."""
        return service.signals(symbol=symbol, limit=limit, include_filtered=include_filtered)

    @app.post(f"{_V1}/trade", dependencies=guarded, tags=["trading"])
    def trade(body: TradeRequest) -> OrderView:
        """Place a manual paper order; a refused one comes back ``rejected`` with the limits it broke."""
        return service.trade(body.symbol, body.side, body.size, reduce_only=body.reduce_only)

    @app.post(f"{_V1}/control/pause", dependencies=guarded, tags=["control"])
    def pause(body: ControlRequest | None = None) -> ControlResult:
        """No new entries; positions, stops and targets kept."""
        return service.control("pause", reason=body.reason if body else "")

    @app.post(f"{_V1}/control/resume", dependencies=guarded, tags=["control"])
    def resume(body: ControlRequest | None = None) -> ControlResult:
        """Entries again (also after an emergency stop)."""
        return service.control("resume", reason=body.reason if body else "")

    @app.post(f"{_V1}/control/emergency_stop", dependencies=guarded, tags=["control"])
    def emergency_stop(body: ControlRequest | None = None) -> ControlResult:
        """Close every position at the next open, cancel entries, stop entries until resume."""
        return service.control("emergency_stop", reason=body.reason if body else "")

    @app.websocket(f"{_V1}/stream")
    async def stream(websocket: WebSocket) -> None:
        """Live events (candles' steps: signals, refusals, orders, fills, positions, breakers, snapshots).

        Authenticate with the ``Authorization`` header, or send ``{"token": "..."}`` first.
        """
        await websocket.accept()
        authorization = websocket.headers.get("authorization", "")
        if not auth.allows(authorization):
            first = await websocket.receive_json()
            token = first.get("token", "") if isinstance(first, dict) else ""
            if not auth.allows(f"Bearer {token}"):
                await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="missing or wrong token")
                return
        if not service.agent_running:
            await websocket.close(code=status.WS_1011_INTERNAL_ERROR, reason="no agent in this process")
            return
        await _forward_until_disconnect(websocket, service)

    @app.post(f"{_V1}/control/mode", dependencies=guarded, tags=["control"])
    def set_mode(body: ModeRequest) -> ControlResult:
        """Switch the risk mode (sizing and minimum confidence of new entries)."""
        return service.control("mode", mode=body.mode, reason=body.reason)


async def _forward_until_disconnect(websocket: WebSocket, service: AgentService) -> None:
    """Send every announced event until the client leaves (read concurrently, so a quiet bus cannot hold it)."""

    async def forward() -> None:
        async for event in service.events():
            await websocket.send_json(event)

    forwarding = asyncio.create_task(forward())
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        forwarding.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await forwarding


def create_app(service: AgentService, *, token: SecretStr | None) -> FastAPI:
    """The API over ``service``; ``token`` guards every route but ``PUBLIC_PATHS`` (None: no auth)."""
    app = FastAPI(
        title="trading-agent",
        version=__version__,
        description="Paper-trading agent for crypto perpetual futures. Never sends a real order.",
    )
    registry = metrics_registry(service)
    app.middleware("http")(RequestTimer(registry))

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        code = 503 if isinstance(exc, AgentNotRunningError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.get("/health", tags=["health"])
    def health() -> Health:
        """The process serves (unversioned, for load balancers and probes)."""
        return _health(service)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    _v1(app, service, TokenAuth(token))
    return app
