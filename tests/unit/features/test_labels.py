import numpy as np
import pytest

from tests.testkit.features import make_bars, real_bars
from trading_agent.features.labels import forward_return_direction, sample_uniqueness, triple_barrier_labels


def test_forward_return_direction_is_unknown_at_the_end() -> None:
    labels = forward_return_direction(make_bars([100, 101, 100, 100, 99]), 2, min_return=0.005)
    np.testing.assert_array_equal(labels[:3], [0.0, -1.0, -1.0])
    assert np.isnan(labels[3:]).all()


def test_triple_barrier_hand_computed() -> None:
    # ATR(1) of these bars is the true range, so vol = TR / close; flat bars then one spike up, one down.
    close = [100.0, 100.0, 100.0, 100.0, 100.0, 100.0]
    high = [100.0, 101.0, 101.0, 101.0, 104.0, 101.0]
    low = [100.0, 99.0, 99.0, 99.0, 99.0, 95.0]
    result = triple_barrier_labels(make_bars(close, high, low), horizon=2, profit_mult=1.5, stop_mult=1.5, atr_period=1)
    # bar 1: TR 2 -> vol 0.02 -> barriers 103 / 97; bar 2 touches neither, bar 3 neither -> time barrier, 0 return
    assert result.label[1] == 0.0
    assert result.end[1] == 3
    # bar 2: barriers 103 / 97; bar 4 has high 104 >= 103 (and low 99 > 97): profit first -> +1 at bar 4
    assert result.label[2] == 1.0
    assert result.end[2] == 4
    assert result.ret[2] == pytest.approx(0.03)
    # bar 3: TR 2 -> 103 / 97; bar 4 hits 103; +1
    assert result.label[3] == 1.0
    # bar 4: TR 5 -> vol .05 -> 107.5 / 92.5: bar 5 touches neither, and the horizon runs past the data: unknown
    assert np.isnan(result.label[4])
    assert result.end[4] == -1
    assert np.isnan(result.label[0])  # no ATR yet at bar 0


def test_a_bar_touching_both_barriers_counts_as_the_stop() -> None:
    close = [100.0, 100.0, 100.0]
    high = [100.0, 101.0, 110.0]
    low = [100.0, 99.0, 90.0]
    result = triple_barrier_labels(make_bars(close, high, low), horizon=1, profit_mult=1, stop_mult=1, atr_period=1)
    assert result.label[1] == -1.0


@pytest.mark.real_data
def test_triple_barrier_labels_are_never_decided_on_partial_data() -> None:
    bars = real_bars()
    full = triple_barrier_labels(bars, horizon=24)
    known = np.isfinite(full.label)
    assert known.mean() > 0.9
    assert set(np.unique(full.label[known])) <= {-1.0, 0.0, 1.0}
    for cut in (500, 1001, 2222):
        part = triple_barrier_labels(bars.head(cut), horizon=24)
        decided = np.isfinite(part.label)
        np.testing.assert_array_equal(part.label[decided], full.label[:cut][decided])
        np.testing.assert_array_equal(part.end[decided], full.end[:cut][decided])
        assert (part.end[decided] < cut).all()
        # every label the truncated run could not decide has its window running past the cut
        undecided = np.flatnonzero(~decided & np.isfinite(full.label[:cut]))
        assert (full.end[undecided] >= cut).all()


def test_sample_uniqueness_hand_computed() -> None:
    # label 0 spans bars 0-2, label 1 spans 2-3, label 2 spans 5-5; concurrency: 1,1,2,1,0,1
    weights = sample_uniqueness(np.array([0, 2, 5, 6]), np.array([2, 3, 5, -1]), 7)
    assert weights[0] == pytest.approx((1 + 1 + 0.5) / 3)
    assert weights[1] == pytest.approx((0.5 + 1) / 2)
    assert weights[2] == 1.0
    assert np.isnan(weights[3])
