"""How the training reports (supervised and RL) show numbers: percentages, ratios, timestamps, JSON-safe floats."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["finite", "json_safe", "num", "pct", "stamp"]


def pct(value: float | None) -> str:
    """``value`` as a percentage with two decimals, ``n/a`` when unknown."""
    return "n/a" if value is None else f"{value:.2%}"


def num(value: float | None) -> str:
    """``value`` with two decimals, ``n/a`` when unknown."""
    return "n/a" if value is None else f"{value:.2f}"


def stamp(ms: int) -> pd.Timestamp:
    """Epoch milliseconds as a UTC timestamp."""
    return pd.Timestamp(ms, unit="ms", tz="UTC")


def finite(value: Any) -> Any:
    """NaN and infinities (Python or numpy floats) as None, numpy floats as floats, so a report is valid JSON."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def json_safe(value: Any) -> Any:
    """``value`` with ``finite`` applied through every dict and list in it."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return finite(value)
