"""The journal: the trade log and the signals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trading_agent.api.routes import V1
from trading_agent.services.interfaces import Services
from trading_agent.services.journal_views import SignalLogEntry, TradeLogEntry

__all__ = ["router"]

Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many rows, newest first.")]
Symbol = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,32}$", description="Only this symbol.")]


def router(services: Services) -> APIRouter:
    """The journal routes (answered without the agent too: they read the database)."""
    agents = services.agents
    routes = APIRouter(prefix=V1, tags=["journal"])

    @routes.get("/trades")
    def trades(limit: Limit = 50, symbol: Symbol = None) -> list[TradeLogEntry]:
        """The trade log: the session's latest closed trades."""
        return agents.trades(symbol=symbol, limit=limit)

    @routes.get("/signals")
    def signals(limit: Limit = 50, symbol: Symbol = None, include_filtered: bool = True) -> list[SignalLogEntry]:
        """The latest signals, every model's vote, and the filters that refused them."""
        return agents.signals(symbol=symbol, limit=limit, include_filtered=include_filtered)

    return routes
