"""``services.model_status.recent_accuracy``: signals scored against the close ``horizon`` candles later, and drift.

Hand-made signals on hand-made closes: which signals are scored, which are hits, and the drift flag
of ``training.drift.PerformanceTracker`` (the last 100 outcomes against the last 1,000).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.testkit.features import HOUR, T0, make_bars
from trading_agent.services.journal_queries import SignalRecord
from trading_agent.services.model_status import recent_accuracy
from trading_agent.training.drift import PerformanceTracker


def signal(i: int, direction: str, *, ts: int | None = None) -> SignalRecord:
    """A signal at the open time of bar ``i`` (or at ``ts``)."""
    return SignalRecord(
        session="paper",
        event_id=f"s-{i}-{direction}",
        exchange="binance",
        symbol="BTCUSD",
        ts=T0 + i * HOUR if ts is None else ts,
        direction=direction,
        strength=1.0,
        confidence=0.8,
        model_votes={"m": 1.0},
        regime=None,
        anomaly=False,
    )


CLOSES = [100.0, 101.0, 99.0, 99.0, 105.0, 104.0, 103.0, 110.0]


def test_a_long_is_a_hit_when_the_close_rises_and_a_short_when_it_falls() -> None:
    bars = make_bars(CLOSES)
    # horizon 2: bar i against bar i+2.  0: 100->99 down, 1: 101->99 down, 2: 99->105 up, 3: 99->104 up,
    # 4: 105->103 down, 5: 104->110 up.  Bars 6 and 7 have no outcome yet.
    signals = [
        signal(0, "long"),  # miss
        signal(1, "short"),  # hit
        signal(2, "long"),  # hit
        signal(3, "short"),  # miss
        signal(4, "short"),  # hit
        signal(5, "long"),  # hit
    ]
    view = recent_accuracy(signals[::-1], bars, 2)  # any order
    assert (view.horizon, view.scored, view.hits) == (2, 6, 4)
    assert view.accuracy == pytest.approx(4 / 6)
    assert view.short_accuracy is None and view.long_accuracy is None and not view.drifting


def test_an_unchanged_close_is_a_miss_for_either_direction() -> None:
    bars = make_bars([100.0, 100.0, 100.0])
    view = recent_accuracy([signal(0, "long"), signal(1, "short")], bars, 1)
    assert (view.scored, view.hits, view.accuracy) == (2, 0, 0.0)


def test_flat_signals_and_those_without_an_outcome_in_the_window_are_not_scored() -> None:
    bars = make_bars(CLOSES)
    signals = [
        signal(0, "flat"),
        signal(1, "hold"),
        signal(5, "long"),  # 5 + 2 = 7 is the newest bar: scored
        signal(6, "long"),  # 6 + 2 = 8 is beyond the window
        signal(7, "short"),
    ]
    view = recent_accuracy(signals, bars, 2)
    assert (view.scored, view.hits) == (1, 1)


def test_signals_at_times_the_window_does_not_have_are_skipped() -> None:
    bars = make_bars(CLOSES)
    signals = [
        signal(0, "long", ts=T0 - 10 * HOUR),  # before the window (scrolled out)
        signal(0, "long", ts=T0 + HOUR // 2),  # between two candles' open times
        signal(2, "long"),
    ]
    view = recent_accuracy(signals, bars, 1)
    assert (view.scored, view.hits) == (1, 0)  # bar 2 -> 3: 99 -> 99


def test_no_signals_score_nothing() -> None:
    view = recent_accuracy([], make_bars(CLOSES), 24)
    assert (view.scored, view.hits, view.accuracy, view.drifting) == (0, 0, None, False)


def test_a_thousand_hits_then_a_hundred_misses_is_drift() -> None:
    # Closes rise for 1,000 candles then fall for 101: longs hit, then miss.
    n = 1_102
    closes = np.concatenate((100.0 + np.arange(1_001), 1_100.0 - np.arange(1, 102)))
    bars = make_bars(closes[:n])
    signals = [signal(i, "long") for i in range(1_100)]
    view = recent_accuracy(signals, bars, 1)
    assert (view.scored, view.hits) == (1_100, 1_000)
    assert view.short_accuracy == 0.0  # the last 100 all missed
    assert view.long_accuracy == pytest.approx(0.9)  # the last 1,000: 900 hits, 100 misses
    assert view.drift_threshold == 0.05 and view.drifting
    # The same outcomes fed to the tracker directly (1 = the close rose, as every long predicted).
    tracker = PerformanceTracker()
    for i in range(1_100):
        tracker.update(1, 1 if i < 1_000 else -1, T0 + i * HOUR, "m")
    assert (tracker.short_accuracy, tracker.long_accuracy, tracker.drifting) == (
        view.short_accuracy,
        view.long_accuracy,
        view.drifting,
    )


def test_steady_accuracy_does_not_drift() -> None:
    # Alternating up and down closes, long every candle: hits and misses alternate, 50% in every window.
    closes = 100.0 + np.tile([0.0, 1.0], 700)
    bars = make_bars(closes)
    signals = [signal(i, "long") for i in range(1_300)]
    view = recent_accuracy(signals, bars, 1)
    assert view.scored == 1_300 and view.hits == 650
    assert view.short_accuracy == pytest.approx(0.5) and view.long_accuracy == pytest.approx(0.5)
    assert not view.drifting


def test_drift_needs_the_long_window_full() -> None:
    closes = np.concatenate((100.0 + np.arange(500), 600.0 - np.arange(1, 102)))
    view = recent_accuracy([signal(i, "long") for i in range(600)], make_bars(closes), 1)
    assert view.short_accuracy == 0.0 and view.long_accuracy is None and not view.drifting


@pytest.mark.parametrize("horizon", [0, -1])
def test_a_horizon_below_one_candle_is_refused(horizon: int) -> None:
    with pytest.raises(ValueError, match="horizon must be at least 1"):
        recent_accuracy([signal(0, "long")], make_bars(CLOSES), horizon)
