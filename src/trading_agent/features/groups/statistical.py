"""The statistical feature group."""

from __future__ import annotations

from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The statistical indicators of the default feature set."""
    return []
