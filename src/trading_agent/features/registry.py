"""Named feature sets and the specs of their features.

``default`` is every group's default indicators (the blueprint's 100+ features). Feature sets are
built fresh on each call, so callers never share indicator state.
"""

from __future__ import annotations

from collections.abc import Callable

from trading_agent.domain import Timeframe
from trading_agent.features.groups import (
    derived,
    microstructure,
    momentum,
    patterns,
    price,
    statistical,
    volatility,
    volume,
)
from trading_agent.features.indicator import Indicator
from trading_agent.features.spec import FeatureSpec

__all__ = ["FEATURE_SETS", "UnknownFeatureSetError", "build_indicators", "feature_specs"]


class UnknownFeatureSetError(ValueError):
    """A feature-set name that is not registered."""


def _default(timeframe: Timeframe | None) -> list[Indicator]:
    return [
        *price.default_indicators(),
        *momentum.default_indicators(),
        *volatility.default_indicators(),
        *volume.default_indicators(timeframe),
        *microstructure.default_indicators(),
        *statistical.default_indicators(),
        *patterns.default_indicators(),
        *derived.default_indicators(),
    ]


FEATURE_SETS: dict[str, Callable[[Timeframe | None], list[Indicator]]] = {"default": _default}


def build_indicators(feature_set: str = "default", timeframe: Timeframe | None = None) -> list[Indicator]:
    """Fresh indicators of ``feature_set`` for candles of ``timeframe``; raise naming the known sets otherwise.

    The timeframe sizes windows defined in clock time (the 24 h volume ratio); feature names do not
    depend on it. ``None`` means unknown: such windows assume 1h candles.
    """
    try:
        builder = FEATURE_SETS[feature_set]
    except KeyError:
        known = ", ".join(sorted(FEATURE_SETS))
        raise UnknownFeatureSetError(f"unknown feature set {feature_set!r}: known sets are {known}") from None
    indicators = builder(timeframe)
    names = [spec.name for indicator in indicators for spec in indicator.specs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"feature set {feature_set!r} defines {', '.join(duplicated)} more than once")
    return indicators


def feature_specs(feature_set: str = "default", timeframe: Timeframe | None = None) -> list[FeatureSpec]:
    """Every feature of ``feature_set`` in column order."""
    return [spec for indicator in build_indicators(feature_set, timeframe) for spec in indicator.specs]
