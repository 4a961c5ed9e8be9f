"""What a feature is: a named column with a group, parameters and a warm-up length."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

__all__ = ["FeatureGroup", "FeatureSpec"]


class FeatureGroup(StrEnum):
    """The blueprint's eight feature groups."""

    PRICE = "price"
    MOMENTUM = "momentum"
    VOLATILITY = "volatility"
    VOLUME = "volume"
    MICROSTRUCTURE = "microstructure"
    STATISTICAL = "statistical"
    PATTERN = "pattern"
    DERIVED = "derived"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One output column.

    ``warmup`` is the number of bars before the first value: the value at bar index ``warmup`` (0-based,
    counting from the first bar the engine saw) is the first that is not NaN.
    """

    name: str
    group: FeatureGroup
    warmup: int
    description: str
    params: Mapping[str, float | int | str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("@", "").isalnum():
            raise ValueError(f"feature name must be letters, digits and '_', got {self.name!r}")
        if self.warmup < 0:
            raise ValueError(f"feature {self.name}: warmup must be >= 0, got {self.warmup}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __reduce__(self) -> tuple[type[FeatureSpec], tuple[object, ...]]:
        # a read-only mapping does not pickle; streamers that keep their spec must
        return FeatureSpec, (self.name, self.group, self.warmup, self.description, dict(self.params))
