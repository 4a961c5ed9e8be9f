"""The pattern feature group: TA-Lib candlestick patterns and chart patterns from swing points.

Elliott-wave counts and harmonic (XABCD) patterns are not built: they have no single agreed,
testable definition (wave labelling is ambiguous by construction, and each harmonic pattern has
several published Fibonacci-ratio tables and tolerances).
"""

from __future__ import annotations

from trading_agent.features.groups.patterns_candles import CandlestickPatterns
from trading_agent.features.groups.patterns_chart import SwingPatterns, SwingRules
from trading_agent.features.groups.patterns_flags import FlagRules, Flags
from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The pattern indicators of the default feature set."""
    return [CandlestickPatterns(), SwingPatterns(SwingRules(lookback=60)), Flags(FlagRules(max_flag_bars=20))]
