"""The microstructure feature group.

Spread, order-book imbalance, trade rate and time between trades need book snapshots and trades
(``microstructure_book``), which the project does not store yet; from candles they are absent, not
zero, so the group adds nothing to the candle feature sets until that storage exists.
"""

from __future__ import annotations

from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The microstructure indicators of the default feature set: none from candles (see the module docstring)."""
    return []
