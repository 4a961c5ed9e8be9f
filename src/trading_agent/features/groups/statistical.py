"""The statistical feature group: z-scores, percentile ranks, serial dependence, entropy, scaling.

Every window counts bars; gaps in the data are not special-cased (the next candle present simply
follows). Definitions, and the value each feature takes on a degenerate (flat) window, are in the
indicator classes.
"""

from __future__ import annotations

from trading_agent.features.groups.statistical_entropy import ReturnEntropy
from trading_agent.features.groups.statistical_kernels import Source
from trading_agent.features.groups.statistical_scaling import ScalingExponents
from trading_agent.features.groups.statistical_scores import PercentileRank, RollingZScore
from trading_agent.features.groups.statistical_serial import AutoCorrelation
from trading_agent.features.indicator import Indicator

__all__ = ["default_indicators"]


def default_indicators() -> list[Indicator]:
    """The statistical indicators of the default feature set."""
    return [
        RollingZScore(Source.CLOSE, 20),
        RollingZScore(Source.CLOSE, 50),
        RollingZScore(Source.VOLUME, 20),
        PercentileRank(Source.CLOSE, (50, 100)),
        PercentileRank(Source.VOLUME, (50, 100)),
        AutoCorrelation(window=100, lags=(1, 2, 5, 10)),
        ReturnEntropy(window=50, z_window=20, tolerance=0.2),
        ScalingExponents(window=100),
    ]
