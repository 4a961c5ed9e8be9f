"""Features: 100+ indicators in eight groups, a batch path and an O(1) streaming path that agree,
multi-timeframe fusion without look-ahead, and labels for supervised learning."""

from trading_agent.features.bars import Bar, Bars, FeatureInputError
from trading_agent.features.compute import compute_features
from trading_agent.features.engine import FeatureEngine, FeatureStateError
from trading_agent.features.registry import FEATURE_SETS, UnknownFeatureSetError, build_indicators, feature_specs
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = [
    "FEATURE_SETS",
    "Bar",
    "Bars",
    "FeatureEngine",
    "FeatureGroup",
    "FeatureInputError",
    "FeatureSpec",
    "FeatureStateError",
    "UnknownFeatureSetError",
    "build_indicators",
    "compute_features",
    "feature_specs",
]
