"""Portfolio and trading: status, positions, the latest candles, a prediction, a manual paper trade."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trading_agent.api.routes import V1
from trading_agent.api.schemas import PredictRequest, TradeRequest
from trading_agent.services.agent_views import LatestCandles, OrderView, PositionView, PredictionView, StatusView
from trading_agent.services.interfaces import Services

__all__ = ["router"]

Candles = Annotated[int, Query(ge=1, le=1000, description="How many of the newest candles.")]
SymbolQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,32}$", description="The agent's symbol.")]


def router(services: Services) -> APIRouter:
    """The portfolio and trading routes."""
    agents = services.agents
    routes = APIRouter(prefix=V1)

    @routes.get("/portfolio/status", tags=["portfolio"])
    async def portfolio_status() -> StatusView:
        """Balance, PnL, position, last price and signal, mode, pause and breakers."""
        return agents.status()

    @routes.get("/positions", tags=["portfolio"])
    async def positions() -> list[PositionView]:
        """The open positions."""
        return agents.positions()

    @routes.get("/data/latest", tags=["market"])
    async def data_latest(limit: Candles = 1, symbol: SymbolQuery = None) -> LatestCandles:
        """The newest closed candles the agent has seen (oldest first), and whether the price is stale."""
        return agents.latest(symbol, limit)

    @routes.post("/predict", tags=["trading"])
    async def predict(body: PredictRequest | None = None) -> PredictionView:
        """The signal source's answer at the newest close, asked again now: every model's vote, nothing traded."""
        return agents.predict(body.symbol if body else None)

    @routes.post("/trade", tags=["trading"])
    async def trade(body: TradeRequest) -> OrderView:
        """Place a manual paper order; a refused one comes back ``rejected`` with the limits it broke."""
        return agents.trade(body.symbol, body.side, body.size, reduce_only=body.reduce_only)

    return routes
