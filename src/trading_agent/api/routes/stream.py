"""``WS /api/v1/stream``: every event the agent announces, to an authenticated client, until it leaves."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from trading_agent.api.auth import TokenAuth
from trading_agent.api.routes import V1
from trading_agent.services.agent_service import AgentService
from trading_agent.services.interfaces import Services

__all__ = ["router"]


def router(services: Services, auth: TokenAuth) -> APIRouter:
    """The stream route (authenticated in the route: a WebSocket has no dependency-raised 401)."""
    agents = services.agents
    routes = APIRouter(prefix=V1)

    @routes.websocket("/stream")
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
        if not agents.agent_running:
            await websocket.close(code=status.WS_1011_INTERNAL_ERROR, reason="no agent in this process")
            return
        await _forward_until_disconnect(websocket, agents)

    return routes


async def _forward_until_disconnect(websocket: WebSocket, agents: AgentService) -> None:
    """Send every announced event until the client leaves (read concurrently, so a quiet bus cannot hold it)."""

    async def forward() -> None:
        async for event in agents.events():
            await websocket.send_json(event)

    forwarding = asyncio.create_task(forward())
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        forwarding.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await forwarding
