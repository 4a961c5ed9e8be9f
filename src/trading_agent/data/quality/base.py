"""The contract every data-quality check follows, and helpers they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from trading_agent.data.errors import DataError
from trading_agent.data.quality.report import CheckResult
from trading_agent.domain import Timeframe

__all__ = ["CheckOutcome", "QualityCheck", "QualityError", "require_increasing"]


class QualityError(DataError):
    """The frame cannot be checked (not a candle frame, or checks run in an impossible order)."""


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What a check returns: the frame to hand to the next check and the check's result."""

    frame: pd.DataFrame
    result: CheckResult


class QualityCheck(ABC):
    """One data-quality job. ``apply`` never mutates its input and counts every row it changes.

    Checks receive a candle frame with the OHLCV columns as float64 (the pipeline guarantees it);
    checks after ``TimestampValidator`` and ``DuplicateRemover`` may rely on sorted, unique times.
    """

    name: ClassVar[str]

    @abstractmethod
    def apply(self, frame: pd.DataFrame, timeframe: Timeframe) -> CheckOutcome:
        """Inspect ``frame`` (and maybe clean it); return the frame for the next check and the result."""


def require_increasing(ts_ms: np.ndarray, check_name: str, *, strict: bool) -> None:
    """Raise ``QualityError`` unless open times increase (strictly, or allowing repeats)."""
    steps = np.diff(ts_ms)
    if np.any(steps <= 0) if strict else np.any(steps < 0):
        needed = "TimestampValidator and DuplicateRemover" if strict else "TimestampValidator"
        raise QualityError(f"{check_name} needs {'unique, ' if strict else ''}sorted open times: run {needed} first")
