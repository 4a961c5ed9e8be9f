"""Risk modes: the sizing and the minimum confidence of new entries, switchable while the agent runs.

The blueprint's conservative / moderate / aggressive (1-2%, 3-5% and 5-10% per trade); the values
are ``modes`` of the trading rules, the switch is the agent's (``agent.controls``).
"""

from __future__ import annotations

from dataclasses import dataclass

from trading_agent.risk.sizing import SizingRules

__all__ = ["ModeRules"]


@dataclass(frozen=True, slots=True)
class ModeRules:
    """A risk mode: the sizing of new entries and the confidence they need."""

    sizing: SizingRules
    min_confidence: float
