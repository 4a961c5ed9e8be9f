"""The anomaly filter: what the risk manager does with new exposure while the market is flagged anomalous.

The anomaly detector (``models.anomaly``, a VAE over feature rows) flags a candle whose features are
unlike anything it was trained on. While the flag is on, ``AnomalyRules.action`` applies to every
intent that adds exposure (an entry, or the new side of a reversal): ``halve`` scales the added
contracts by ``size_factor`` (rounded down; the part that closes a position is kept whole), ``block``
refuses it (the violation ``anomaly``), ``off`` ignores the flag. Orders that only reduce a position
are never touched: the filter may stop the agent from adding risk, never from taking it off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trading_agent.domain.trading import AnomalyAction
from trading_agent.risk.errors import RiskError

__all__ = ["AnomalyRules"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AnomalyRules:
    """``action`` while flagged; ``size_factor`` in (0, 1) is the share of added contracts ``halve`` keeps."""

    action: AnomalyAction = AnomalyAction.HALVE
    size_factor: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.size_factor) and 0 < self.size_factor < 1):
            raise RiskError(f"size_factor must be in (0, 1), got {self.size_factor}")

    def scaled(self, contracts: int, added: int) -> int:
        """An order of ``contracts`` of which ``added`` add exposure, after ``halve`` (unchanged otherwise)."""
        if self.action is not AnomalyAction.HALVE or added <= 0:
            return contracts
        return contracts - added + math.floor(added * self.size_factor)

    def blocks(self, added: int) -> bool:
        """Whether ``block`` refuses an order that adds ``added`` contracts of exposure."""
        return self.action is AnomalyAction.BLOCK and added > 0
