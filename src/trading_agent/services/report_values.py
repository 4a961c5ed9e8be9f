"""How the training reports (supervised and RL) show numbers and judge them against buy-and-hold.

Percentages, ratios, timestamps, JSON-safe floats, and the one rule for "beats buy-and-hold".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["beats", "finite", "json_safe", "num", "pct", "stamp", "verdict"]

_JUDGED = ("total_return", "sharpe_ratio")


def pct(value: float | None) -> str:
    """``value`` as a percentage with two decimals, ``n/a`` when unknown."""
    return "n/a" if value is None else f"{value:.2%}"


def num(value: float | None) -> str:
    """``value`` with two decimals, ``n/a`` when unknown."""
    return "n/a" if value is None else f"{value:.2f}"


def beats(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> bool:
    """Whether ``ours`` had both a higher total return and a higher Sharpe than ``theirs`` (unknown never beats)."""
    return all(ours.get(key) is not None and theirs.get(key) is not None and ours[key] > theirs[key] for key in _JUDGED)


def verdict(beaten: bool) -> str:
    """``beats buy-and-hold after costs``, or ``does NOT beat`` it, with the rule it failed."""
    if beaten:
        return "beats buy-and-hold after costs"
    return "does NOT beat buy-and-hold after costs (that needs both a higher return and a higher Sharpe)"


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
