"""Drift: PSI against a hand-computed case, and the accuracy tracker's firing rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trading_agent.domain.events import ModelDrift
from trading_agent.training.drift import PerformanceTracker, feature_psi, population_stability_index


def test_psi_same_distribution_is_about_zero_and_shift_is_large() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=20_000)
    assert population_stability_index(x, rng.normal(size=20_000)) < 0.01
    assert population_stability_index(x, rng.normal(1.0, size=20_000)) > 0.25


def test_psi_hand_computed() -> None:
    expected = np.array([0.0, 0.0, 1.0, 1.0])  # two bins: [<1] and [>=1], shares 0.5 / 0.5
    actual = np.array([0.0, 1.0, 1.0, 1.0])  # shares 0.25 / 0.75
    want = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert math.isclose(population_stability_index(expected, actual, bins=2), want)


def test_feature_psi_per_column() -> None:
    ref = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0)})
    cur = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0) + 50})
    psi = feature_psi(ref, cur)
    assert psi["a"] < 1e-9
    assert psi["b"] > 0.25


def test_tracker_fires_once_when_short_accuracy_drops() -> None:
    tracker = PerformanceTracker()
    events = []
    outcomes = [1] * 700 + [0] * 300 + [0] * 200 + [1] * 1000 + [0] * 200  # 1 = correct
    for i, ok in enumerate(outcomes):
        event = tracker.update(1, 1 if ok else 0, ts_ms=i, model="m")
        if event is not None:
            events.append((i, event))
    assert len(events) == 2  # once in the first bad spell, again after recovery
    i, event = events[0]
    assert i == 999 and isinstance(event, ModelDrift)
    assert event.short_accuracy == 0.0 and event.long_accuracy == 0.7 and event.threshold == 0.05
