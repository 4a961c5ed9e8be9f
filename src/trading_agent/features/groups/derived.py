"""The derived feature group: price/MA ratios, momentum divergences, volatility regime, trend strength.

13 features; see ``derived_ratios``, ``derived_divergence``, ``derived_regime`` and ``derived_trend``.
Each computes its own averages and oscillators: features do not depend on each other.
"""

from __future__ import annotations

from trading_agent.features.groups.derived_divergence import MacdDivergence, RsiDivergence
from trading_agent.features.groups.derived_ratios import MovingAverageRatios
from trading_agent.features.groups.derived_regime import VolatilityRegime
from trading_agent.features.groups.derived_trend import TrendStrength
from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The derived indicators of the default feature set."""
    return [
        MovingAverageRatios(close_sma=(20, 50, 200), sma_cross=(20, 50), ema_cross=(12, 26)),
        RsiDivergence(14, 14),
        MacdDivergence(12, 26, 9, 14),
        VolatilityRegime(14, 100, low=0.8, high=1.25),
        TrendStrength(14),
    ]
