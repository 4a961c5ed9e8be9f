"""The volume feature group: OBV, CMF, MFI, A/D line and oscillator, VPT, volume ratio, volume-weighted momentum.

9 features; see ``volume_flow`` and ``volume_activity`` for their definitions and zero-volume rules.
"""

from __future__ import annotations

from trading_agent.features.groups.volume_activity import VolumePriceTrend, VolumeRatio, VolumeWeightedMomentum
from trading_agent.features.groups.volume_flow import (
    AccumulationDistribution,
    ChaikinMoneyFlow,
    MoneyFlowIndex,
    OnBalanceVolume,
)
from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The volume indicators of the default feature set (the volume ratio's 24 bars are 24 h on 1h candles)."""
    return [
        OnBalanceVolume(20),
        AccumulationDistribution(3, 10),
        ChaikinMoneyFlow(20),
        MoneyFlowIndex(14),
        VolumePriceTrend(),
        VolumeRatio(24),
        VolumeWeightedMomentum(14),
    ]
