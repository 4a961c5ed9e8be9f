"""Analyses: performance by period, the day's analytics, risk, market analysis, model status (cached)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from trading_agent.api.routes import V1
from trading_agent.services.interfaces import Services
from trading_agent.services.market_analysis import MarketAnalysis
from trading_agent.services.model_status import ModelStatus
from trading_agent.services.performance import DailyAnalytics, PerformanceReport, Period
from trading_agent.services.risk_view import RiskView

__all__ = ["router"]


def _iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD`` is a day (pydantic would also read ``0`` as 1970-01-01)."""
    if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


Day = Annotated[date | None, BeforeValidator(_iso_date), Query(description="A UTC day, YYYY-MM-DD.")]
Horizon = Annotated[int, Query(ge=1, le=1000, description="Candles after a signal that decide if it was right.")]


def router(services: Services) -> APIRouter:
    """The analysis routes."""
    analytics = services.analytics
    routes = APIRouter(prefix=V1, tags=["analytics"])

    @routes.get("/performance")
    async def performance(period: Period = "day") -> PerformanceReport:
        """Returns, PnL and trades by day, week or month; the backtest's metrics on the daily equity curve."""
        return await analytics.performance(period)

    @routes.get("/analytics/daily")
    async def analytics_daily(day: Day = None) -> DailyAnalytics:
        """One UTC day (default: the journal's newest): trades, wins, PnL, fees, funding, best and worst, signals."""
        return await analytics.daily(day)

    @routes.get("/risk")
    async def risk() -> RiskView:
        """VaR and CVaR (historical, parametric, Cornish-Fisher), Sharpe, Sortino, drawdowns, breakers, risk score."""
        return await analytics.risk()

    @routes.get("/market")
    async def market() -> MarketAnalysis:
        """Trend and its strength, volatility and its regime, at the newest candle."""
        return await analytics.market()

    @routes.get("/models")
    async def models(horizon: Horizon = 24) -> ModelStatus:
        """The registry's versions, the running source, its recent accuracy and drift."""
        return await analytics.models(horizon)

    return routes
