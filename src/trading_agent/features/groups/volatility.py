"""The volatility feature group: ATR/NATR, Bollinger, Keltner and Donchian channels, and per-bar
volatility estimators (close-to-close, Parkinson, Garman-Klass).

Windows count bars: gaps in the data are not special-cased.
"""

from __future__ import annotations

from trading_agent.features.groups.volatility_bollinger import Bollinger
from trading_agent.features.groups.volatility_channels import Atr, Donchian, Keltner
from trading_agent.features.groups.volatility_estimators import GarmanKlass, HistoricalVolatility, Parkinson
from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The volatility indicators of the default feature set."""
    return [
        Atr(7),
        Atr(14, normalised=True),
        Atr(21),
        Bollinger(20, 2.0),
        Keltner(20, 10, 2.0),
        Donchian(20),
        HistoricalVolatility(20),
        HistoricalVolatility(50),
        Parkinson(20),
        GarmanKlass(20),
    ]
