"""Market analysis of the agent's candle window: trend and its strength, volatility and its regime.

The same indicators the models see (``features.groups``): Wilder's ADX with +DI/-DI for the trend
(``TrendStrength``; ADX below 20 reads as no trend, 20-40 as a trend, above 40 as a strong one,
Wilder's usual reading) and NATR against its 100-candle mean for the volatility regime
(``VolatilityRegime``: low below 0.8, high above 1.25). Realised volatility is the standard
deviation of the last 100 log returns, annualised 24/7. Everything is as of the newest closed
candle: nothing after it is read.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import talib
from pydantic import BaseModel

from trading_agent.backtest.metrics_returns import periods_per_year
from trading_agent.domain import Timeframe
from trading_agent.features import Bars
from trading_agent.features.groups.derived_regime import VolatilityRegime
from trading_agent.features.groups.derived_trend import TrendStrength
from trading_agent.services.errors import ServiceError
from trading_agent.services.report_values import finite

__all__ = ["MarketAnalysis", "market_analysis"]

_PERIOD = 14
_REGIME_WINDOW = 100
_REALISED_WINDOW = 100
_NO_TREND, _STRONG_TREND = 20.0, 40.0
Volatility = Literal["low", "normal", "high", "unknown"]
_REGIMES: dict[float, Volatility] = {0.0: "low", 1.0: "normal", 2.0: "high"}


class MarketAnalysis(BaseModel):
    """The market at the newest closed candle of the agent's window."""

    symbol: str
    series: str
    candle: datetime
    close: float
    candles: int
    trend: Literal["up", "down", "none"]
    trend_strength: Literal["none", "trending", "strong"]
    adx: float | None
    plus_di: float | None
    minus_di: float | None
    trend_score: float | None
    natr_percent: float | None
    natr_relative: float | None
    volatility_regime: Volatility
    realised_volatility_annual: float | None
    regime: str


def _realised(close: np.ndarray, timeframe: Timeframe) -> float | None:
    if close.size <= _REALISED_WINDOW:
        return None
    returns = np.diff(np.log(close[-(_REALISED_WINDOW + 1) :]))
    return float(np.std(returns, ddof=1) * math.sqrt(periods_per_year(timeframe)))


def market_analysis(symbol: str, series: str, timeframe: Timeframe, bars: Bars) -> MarketAnalysis:
    """The analysis of ``bars`` (the newest last); ``ServiceError`` when the window is empty."""
    if len(bars) == 0:
        raise ServiceError("no candles yet: the agent has not seen its first candle")
    adx, plus_di, minus_di, score = (finite(float(values[-1])) for values in TrendStrength(_PERIOD).batch(bars))
    relative, regime_code = (float(values[-1]) for values in VolatilityRegime(_PERIOD, _REGIME_WINDOW).batch(bars))
    natr = float(talib.NATR(bars.high, bars.low, bars.close, timeperiod=_PERIOD)[-1])
    strength: Literal["none", "trending", "strong"] = (
        "none" if adx is None or adx < _NO_TREND else "strong" if adx > _STRONG_TREND else "trending"
    )
    trend: Literal["up", "down", "none"] = "none"
    if strength != "none" and plus_di is not None and minus_di is not None and plus_di != minus_di:
        trend = "up" if plus_di > minus_di else "down"
    volatility: Volatility = "unknown" if math.isnan(regime_code) else _REGIMES.get(regime_code, "unknown")
    trend_words = "no trend" if trend == "none" else f"{'strong ' if strength == 'strong' else ''}{trend}trend"
    return MarketAnalysis(
        symbol=symbol,
        series=series,
        candle=datetime.fromtimestamp(int(bars.ts[-1]) / 1000, tz=UTC),
        close=float(bars.close[-1]),
        candles=len(bars),
        trend=trend,
        trend_strength=strength,
        adx=adx,
        plus_di=plus_di,
        minus_di=minus_di,
        trend_score=score,
        natr_percent=finite(natr),
        natr_relative=finite(relative),
        volatility_regime=volatility,
        realised_volatility_annual=_realised(bars.close, timeframe),
        regime=f"{trend_words}, {volatility} volatility",
    )
