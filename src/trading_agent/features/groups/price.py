"""The price feature group: moving averages, day-anchored VWAP/TWAP, pivot points and fractal levels.

Moving averages and VWAP/TWAP are price levels (the classic columns); pivots and fractals are also
given as the close's distance to them in % of the close. Windows count bars: gaps in the data are
not special-cased.
"""

from __future__ import annotations

from trading_agent.features.groups.price_averages import moving_averages
from trading_agent.features.groups.price_levels import Fractals, Pivots
from trading_agent.features.groups.price_session import SessionAverages
from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The price indicators of the default feature set."""
    return [*moving_averages(), SessionAverages(), Pivots(), Fractals()]
