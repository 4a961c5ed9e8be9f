import numpy as np
import pytest

from trading_agent.domain import Direction
from trading_agent.models.signals import SignalClass, SignalThresholds, classify, classify_many, signal_directions

BLUEPRINT = SignalThresholds()


@pytest.mark.parametrize(
    ("prediction", "confidence", "expected"),
    [
        (0.75, 0.85, SignalClass.STRONG_BUY),
        (0.75, 0.70, SignalClass.BUY),  # strong prediction, ordinary confidence
        (0.65, 0.95, SignalClass.BUY),
        (0.70, 0.85, SignalClass.BUY),  # the bounds are strict
        (0.65, 0.60, SignalClass.HOLD),
        (0.50, 0.99, SignalClass.HOLD),
        (0.35, 0.70, SignalClass.SELL),
        (0.25, 0.85, SignalClass.STRONG_SELL),
        (0.25, 0.65, SignalClass.SELL),
        (0.10, 0.50, SignalClass.HOLD),
        (float("nan"), 0.99, SignalClass.HOLD),
    ],
)
def test_the_blueprints_mapping(prediction: float, confidence: float, expected: SignalClass) -> None:
    assert classify(prediction, confidence, BLUEPRINT) is expected


def test_classify_many_agrees_with_classify() -> None:
    rng = np.random.default_rng(0)
    p, c = rng.uniform(size=500), rng.uniform(size=500)
    many = classify_many(p, c, BLUEPRINT)
    assert [classify(a, b, BLUEPRINT).value for a, b in zip(p, c, strict=True)] == many.tolist()
    assert set(many) == {s.value for s in SignalClass}


def test_directions() -> None:
    assert [s.direction for s in SignalClass] == [
        Direction.LONG,
        Direction.LONG,
        Direction.FLAT,
        Direction.SHORT,
        Direction.SHORT,
    ]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="buy_confidence"):
        SignalThresholds(buy_confidence=1.5)
    with pytest.raises(ValueError, match="order"):
        SignalThresholds(sell_prediction=0.65)


def test_signal_directions_trade_the_buys_long_and_the_sells_short() -> None:
    rng = np.random.default_rng(1)
    p, c = rng.uniform(size=400), rng.uniform(size=400)
    directions = signal_directions(p, c, BLUEPRINT)
    expected = [classify(a, b, BLUEPRINT).direction for a, b in zip(p, c, strict=True)]
    sign = {Direction.LONG: 1, Direction.SHORT: -1, Direction.FLAT: 0}
    assert directions.dtype == np.int8 and directions.tolist() == [sign[d] for d in expected]
    assert set(directions.tolist()) == {-1, 0, 1}
