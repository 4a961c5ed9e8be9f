"""The volume feature group: OBV, CMF, MFI, A/D line and oscillator, VPT, volume ratio, volume-weighted momentum.

9 features; see ``volume_flow`` and ``volume_activity`` for their definitions and zero-volume rules.
"""

from __future__ import annotations

from datetime import timedelta

from trading_agent.domain import Timeframe
from trading_agent.features.groups.volume_activity import VolumePriceTrend, VolumeRatio, VolumeWeightedMomentum
from trading_agent.features.groups.volume_flow import (
    AccumulationDistribution,
    ChaikinMoneyFlow,
    MoneyFlowIndex,
    OnBalanceVolume,
)
from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators(timeframe: Timeframe | None = None) -> list[Indicator]:
    """The volume indicators of the default feature set; the volume ratio spans 24 h of ``timeframe`` candles."""
    return [
        OnBalanceVolume(20),
        AccumulationDistribution(3, 10),
        ChaikinMoneyFlow(20),
        MoneyFlowIndex(14),
        VolumePriceTrend(),
        VolumeRatio.over(timedelta(hours=24), timeframe),
        VolumeWeightedMomentum(14),
    ]
