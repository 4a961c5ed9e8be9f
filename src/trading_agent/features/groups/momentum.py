"""The momentum feature group: RSI, Stochastic RSI, Williams %R, MACD, ROC, momentum, Ultimate and Awesome.

20 features; see ``momentum_oscillators`` and ``momentum_macd`` for their definitions.
"""

from __future__ import annotations

from trading_agent.features.groups.momentum_macd import Macd
from trading_agent.features.groups.momentum_oscillators import (
    AwesomeOscillator,
    Momentum,
    RateOfChange,
    Rsi,
    StochasticRsi,
    UltimateOscillator,
    WilliamsR,
)
from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The momentum indicators of the default feature set."""
    return [
        Rsi(7),
        Rsi(14),
        Rsi(21),
        StochasticRsi(14, 14, 3, 3),
        WilliamsR(14),
        Macd(12, 26, 9),
        RateOfChange(10),
        RateOfChange(20),
        Momentum(10),
        UltimateOscillator(7, 14, 28),
        AwesomeOscillator(5, 34),
    ]
