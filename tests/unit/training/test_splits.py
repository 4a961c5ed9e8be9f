"""Purged walk-forward splits: ordered windows, purging, embargo, timeframe independence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.testkit.training import HOUR_MS, planted_training_set
from trading_agent.training.splits import (
    DAY_MS,
    WalkForwardConfig,
    final_split,
    label_end_times,
    purged_walk_forward,
)

T0 = 1_700_006_400_000 - 1_700_006_400_000 % DAY_MS
H = 3_600_000


def hourly(days: int = 730, horizon: int = 24) -> tuple[np.ndarray, np.ndarray]:
    open_ms = T0 + H * np.arange(days * 24, dtype="int64")
    end = np.arange(open_ms.size) + horizon
    end[end >= open_ms.size] = -1
    return open_ms, label_end_times(open_ms, end, H)


def test_windows_are_ordered_purged_and_embargoed() -> None:
    open_ms, label_end = hourly()
    config = WalkForwardConfig()
    splits = purged_walk_forward(open_ms, label_end, config)
    assert len(splits) == 12
    assert splits[-1].test_end_ms == open_ms[-1] + H
    for s in splits:
        assert s.train_end_ms + DAY_MS == s.validation_start_ms
        assert s.validation_end_ms + DAY_MS == s.test_start_ms
        assert label_end[s.train].max() < s.validation_start_ms
        assert label_end[s.validation].max() < s.test_start_ms
        assert open_ms[s.train].max() < s.validation_start_ms <= open_ms[s.validation].min()
        assert open_ms[s.validation].max() < s.test_start_ms <= open_ms[s.test].min()
        assert s.train_end_ms - s.train_start_ms == 180 * DAY_MS
    starts = [s.test_start_ms for s in splits]
    assert np.all(np.diff(starts) == 7 * DAY_MS)


def test_same_windows_for_15m_and_1d() -> None:
    def windows(bar_ms: int) -> list[tuple[int, ...]]:
        open_ms = T0 + bar_ms * np.arange(730 * DAY_MS // bar_ms, dtype="int64")
        splits = purged_walk_forward(open_ms, open_ms + bar_ms, WalkForwardConfig())
        return [(s.train_start_ms, s.validation_start_ms, s.test_start_ms, s.test_end_ms) for s in splits]

    assert windows(15 * 60_000) == windows(DAY_MS)


def test_anchored_keeps_train_start_fixed_and_unknown_labels_excluded() -> None:
    open_ms, label_end = hourly()
    splits = purged_walk_forward(open_ms, label_end, WalkForwardConfig(anchored=True))
    assert {s.train_start_ms for s in splits} == {int(open_ms[0])}
    assert all(s.train[0] == 0 for s in splits)
    last = splits[-1]
    assert open_ms.size - 1 in last.test  # test keeps rows whose label is still unknown


def test_bad_config_and_short_data() -> None:
    with pytest.raises(ValueError, match="train_days"):
        WalkForwardConfig(train_days=0)
    with pytest.raises(ValueError, match="embargo_days"):
        WalkForwardConfig(embargo_days=-1)
    open_ms, label_end = hourly(days=100)
    with pytest.raises(ValueError, match="no walk-forward window fits"):
        purged_walk_forward(open_ms, label_end, WalkForwardConfig())
    few = purged_walk_forward(*hourly(days=270), WalkForwardConfig())
    assert 0 < len(few) < 12


@settings(max_examples=30, deadline=None)
@given(horizon=st.integers(1, 200), embargo=st.floats(0, 3), anchored=st.booleans())
def test_purging_invariant(horizon: int, embargo: float, anchored: bool) -> None:
    open_ms, label_end = hourly(days=400, horizon=horizon)
    config = WalkForwardConfig(train_days=60, validation_days=20, test_days=20, embargo_days=embargo, anchored=anchored)
    for s in purged_walk_forward(open_ms, label_end, config):
        assert np.all(label_end[s.train] < s.validation_start_ms)
        assert np.all(label_end[s.validation] < s.test_start_ms)
        assert np.all(label_end[s.train] >= 0)


def test_final_split_ends_at_the_data_with_the_same_purging_and_no_test() -> None:
    data = planted_training_set(24 * 100)
    config = WalkForwardConfig(train_days=40, validation_days=10, test_days=15, step_days=15, n_splits=3)
    final = final_split(data.open_ms, data.label_end_ms, config)
    last = purged_walk_forward(data.open_ms, data.label_end_ms, config)[-1]
    data_end = int(data.open_ms[-1]) + HOUR_MS
    assert final.test.size == 0 and final.validation_end_ms == data_end
    assert final.validation_start_ms == data_end - 10 * DAY_MS
    assert final.train_end_ms == final.validation_start_ms - DAY_MS  # the embargo
    assert final.train_end_ms > last.test_start_ms  # it has seen the last test window: it is the deployed model
    assert data.label_end_ms[final.train].max() < final.validation_start_ms  # purged
    assert data.label_end_ms[final.validation].max() < data_end
    with pytest.raises(ValueError, match="final training window"):
        final_split(data.open_ms[:500], data.label_end_ms[:500], config)
