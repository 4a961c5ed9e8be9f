"""The blueprint's signal mapping: a model's probability of "up" and its confidence to a signal class.

``prediction`` is the (calibrated) probability that the price goes up; ``confidence`` is how far
the signal is to be trusted (the ensemble's calibrated confidence). The rule, with the defaults of
``trading_rules.yaml`` (``signal_filters.mapping``), checked strongest first:

==============  ===========================================
strong_buy      confidence > 0.8 and prediction > 0.7
buy             confidence > 0.6 and prediction > 0.6
strong_sell     confidence > 0.8 and prediction < 0.3
sell            confidence > 0.6 and prediction < 0.4
hold            everything else
==============  ===========================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np

from trading_agent.domain import Direction

__all__ = ["SignalClass", "SignalThresholds", "classify", "classify_many", "signal_directions"]


class SignalClass(StrEnum):
    """The five signal classes, from most bullish to most bearish."""

    STRONG_BUY = "strong_buy"
    BUY = "buy"
    HOLD = "hold"
    SELL = "sell"
    STRONG_SELL = "strong_sell"

    @property
    def direction(self) -> Direction:
        """Long for the buys, short for the sells, flat for hold."""
        if self in (SignalClass.STRONG_BUY, SignalClass.BUY):
            return Direction.LONG
        if self in (SignalClass.STRONG_SELL, SignalClass.SELL):
            return Direction.SHORT
        return Direction.FLAT


@dataclass(frozen=True, slots=True)
class SignalThresholds:
    """Thresholds of the mapping (the blueprint's numbers by default)."""

    strong_buy_prediction: float = 0.7
    strong_buy_confidence: float = 0.8
    buy_prediction: float = 0.6
    buy_confidence: float = 0.6
    sell_prediction: float = 0.4
    sell_confidence: float = 0.6
    strong_sell_prediction: float = 0.3
    strong_sell_confidence: float = 0.8

    def __post_init__(self) -> None:
        for name in (f.name for f in fields(self)):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"signal threshold {name} must be in [0, 1], got {value}")
        if not self.strong_sell_prediction <= self.sell_prediction < self.buy_prediction <= self.strong_buy_prediction:
            raise ValueError(
                "signal thresholds must order strong_sell <= sell < buy <= strong_buy on the prediction, got "
                f"{self.strong_sell_prediction}, {self.sell_prediction}, {self.buy_prediction}, "
                f"{self.strong_buy_prediction}"
            )


def classify_many(prediction: np.ndarray, confidence: np.ndarray, thresholds: SignalThresholds) -> np.ndarray:
    """The signal class (as its string value) of every row; NaN inputs give ``hold``."""
    p = np.asarray(prediction, dtype=np.float64)
    c = np.asarray(confidence, dtype=np.float64)
    t = thresholds
    conditions = [
        (c > t.strong_buy_confidence) & (p > t.strong_buy_prediction),
        (c > t.buy_confidence) & (p > t.buy_prediction),
        (c > t.strong_sell_confidence) & (p < t.strong_sell_prediction),
        (c > t.sell_confidence) & (p < t.sell_prediction),
    ]
    choices = [
        SignalClass.STRONG_BUY.value,
        SignalClass.BUY.value,
        SignalClass.STRONG_SELL.value,
        SignalClass.SELL.value,
    ]
    return np.select(conditions, choices, default=SignalClass.HOLD.value)


def classify(prediction: float, confidence: float, thresholds: SignalThresholds) -> SignalClass:
    """The signal class of one prediction and confidence."""
    return SignalClass(str(classify_many(np.array([prediction]), np.array([confidence]), thresholds)[0]))


def signal_directions(prediction: np.ndarray, confidence: np.ndarray, thresholds: SignalThresholds) -> np.ndarray:
    """Per row the direction the signal trades (int8): ``+1`` for the buys, ``-1`` for the sells, ``0`` for hold."""
    classes = classify_many(prediction, confidence, thresholds)
    buys = np.isin(classes, (SignalClass.STRONG_BUY.value, SignalClass.BUY.value))
    sells = np.isin(classes, (SignalClass.STRONG_SELL.value, SignalClass.SELL.value))
    return np.where(buys, 1, np.where(sells, -1, 0)).astype(np.int8)
