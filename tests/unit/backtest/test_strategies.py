"""The replayed strategy: a model's precomputed entries, keyed by candle open time."""

from __future__ import annotations

import numpy as np
import pytest

from tests.testkit.features import make_bars, random_walk
from trading_agent.backtest.strategies import AnomalyScores, StrategyError, replay_strategy


def test_replay_enters_only_at_the_candles_named_and_survives_any_window() -> None:
    close = random_walk(200, seed=1)
    bars = make_bars(close, close * 1.01, close * 0.99, close)
    chosen = bars.ts[[10, 50, 51, 199]]
    strategy = replay_strategy("model", chosen, np.array([1, -1, 0, 1]))
    entries = strategy.signals(bars).entries
    assert np.flatnonzero(entries).tolist() == [10, 50, 199]
    assert entries[[10, 50, 199]].tolist() == [1, -1, 1] and not strategy.signals(bars).exits.any()
    window = bars.window(40, 120)  # a window of the candles sees only its own entries
    assert np.flatnonzero(strategy.signals(window).entries).tolist() == [10]
    assert strategy.warmup == 0


@pytest.mark.parametrize(
    ("times", "entries"),
    [(np.array([2, 1]), np.array([1, 1])), (np.array([1, 2]), np.array([1])), (np.array([]), np.array([]))],
)
def test_replay_refuses_misaligned_or_unordered_entries(times: np.ndarray, entries: np.ndarray) -> None:
    with pytest.raises(StrategyError, match="strictly later open time"):
        replay_strategy("model", times, entries)


def test_replay_carries_the_anomaly_scores_of_its_candles() -> None:
    close = random_walk(100, seed=2)
    bars = make_bars(close, close * 1.01, close * 0.99, close)
    chosen = bars.ts[[5, 6, 90]]
    anomaly = AnomalyScores(np.array([0.5, 3.0, 1.0]), threshold=2.0)
    signals = replay_strategy("model", chosen, np.array([1, 0, -1]), anomaly).signals(bars)
    assert signals.anomaly is not None and signals.anomaly.threshold == 2.0
    scored = np.flatnonzero(np.isfinite(signals.anomaly.scores))
    assert scored.tolist() == [5, 6, 90] and signals.anomaly.scores[scored].tolist() == [0.5, 3.0, 1.0]


def test_replay_refuses_anomaly_scores_that_do_not_align() -> None:
    with pytest.raises(StrategyError, match="anomaly scores"):
        replay_strategy("model", np.array([1, 2]), np.array([1, -1]), AnomalyScores(np.array([1.0]), 2.0))
