"""Named feature sets and the specs of their features.

``default`` is every group's default indicators (the blueprint's 100+ features). Feature sets are
built fresh on each call, so callers never share indicator state.
"""

from __future__ import annotations

from collections.abc import Callable

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


def _default() -> list[Indicator]:
    groups = (price, momentum, volatility, volume, microstructure, statistical, patterns, derived)
    return [indicator for group in groups for indicator in group.default_indicators()]


FEATURE_SETS: dict[str, Callable[[], list[Indicator]]] = {"default": _default}


def build_indicators(feature_set: str = "default") -> list[Indicator]:
    """Fresh indicators of ``feature_set``; raise naming the known sets otherwise."""
    try:
        builder = FEATURE_SETS[feature_set]
    except KeyError:
        known = ", ".join(sorted(FEATURE_SETS))
        raise UnknownFeatureSetError(f"unknown feature set {feature_set!r}: known sets are {known}") from None
    indicators = builder()
    names = [spec.name for indicator in indicators for spec in indicator.specs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"feature set {feature_set!r} defines {', '.join(duplicated)} more than once")
    return indicators


def feature_specs(feature_set: str = "default") -> list[FeatureSpec]:
    """Every feature of ``feature_set`` in column order."""
    return [spec for indicator in build_indicators(feature_set) for spec in indicator.specs]
