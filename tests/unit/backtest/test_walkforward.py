"""Walk-forward optimisation: window arithmetic, grid and Optuna search, the stitched out-of-sample curve."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from trading_agent.backtest.metrics import pbo
from trading_agent.backtest.walkforward import (
    Choice,
    Evaluate,
    FloatRange,
    GridSearch,
    IntRange,
    OptunaSearch,
    WalkForwardError,
    WalkForwardResult,
    Window,
    walk_forward,
    walk_forward_windows,
)

MINUTE = 60_000


def _spans(windows: list[Window]) -> list[tuple[int, int, int, int]]:
    return [(w.train_start, w.train_stop, w.test_start, w.test_stop) for w in windows]


def _total_return(equity: np.ndarray) -> float:
    return float(equity[-1] / equity[0] - 1.0)


# 95 candles 10 ms apart (open times 0..940): train 300 ms = 30 candles, test and step 100 ms = 10.
TS_95 = np.arange(95, dtype=np.int64) * 10


def test_rolling_windows_slide_the_train_start_and_keep_the_last_partial_test() -> None:
    windows = walk_forward_windows(TS_95, train_ms=300, test_ms=100, step_ms=100, anchored=False)
    assert _spans(windows) == [
        (0, 30, 30, 40),
        (10, 40, 40, 50),
        (20, 50, 50, 60),
        (30, 60, 60, 70),
        (40, 70, 70, 80),
        (50, 80, 80, 90),
        (60, 90, 90, 95),  # the last test part holds only the 5 candles left
    ]
    assert [w.index for w in windows] == list(range(7))
    assert windows[1].train == range(10, 40)
    assert windows[1].test == range(40, 50)


def test_anchored_windows_keep_the_train_start_at_the_first_candle() -> None:
    windows = walk_forward_windows(TS_95, train_ms=300, test_ms=100, step_ms=100, anchored=True)
    assert _spans(windows) == [(0, 30 + 10 * k, 30 + 10 * k, min(40 + 10 * k, 95)) for k in range(7)]


def test_a_step_longer_than_the_test_leaves_gaps_between_test_periods() -> None:
    windows = walk_forward_windows(TS_95, train_ms=300, test_ms=100, step_ms=200, anchored=False)
    assert _spans(windows) == [(0, 30, 30, 40), (20, 50, 50, 60), (40, 70, 70, 80), (60, 90, 90, 95)]


def test_windows_follow_time_across_a_gap_and_drop_windows_left_empty() -> None:
    # Candles 0..39 open at 0..390 ms, candles 40..79 at 600..990 ms: nothing in [400, 600).
    ts = np.concatenate([np.arange(40) * 10, np.arange(60, 100) * 10]).astype(np.int64)
    windows = walk_forward_windows(ts, train_ms=200, test_ms=100, step_ms=100, anchored=False)
    # Tests [400, 500) and [500, 600) are empty, and the train part [400, 600) of test [600, 700) is too.
    assert _spans(windows) == [(0, 20, 20, 30), (10, 30, 30, 40), (40, 50, 50, 60), (40, 60, 60, 70), (50, 70, 70, 80)]
    assert [w.index for w in windows] == list(range(5))


def test_a_series_spanning_exactly_the_train_length_gives_one_window_with_one_test_candle() -> None:
    windows = walk_forward_windows(
        np.arange(31, dtype=np.int64) * 10, train_ms=300, test_ms=100, step_ms=100, anchored=False
    )
    assert _spans(windows) == [(0, 30, 30, 31)]


@pytest.mark.parametrize("anchored", [False, True])
def test_no_test_period_overlaps_its_train_period_or_another_test_period(anchored: bool) -> None:
    ts = np.cumsum(np.random.default_rng(3).integers(1, 5, 400)).astype(np.int64) * MINUTE  # irregular gaps
    windows = walk_forward_windows(
        ts, train_ms=120 * MINUTE, test_ms=40 * MINUTE, step_ms=45 * MINUTE, anchored=anchored
    )
    assert len(windows) > 5
    for window in windows:
        assert window.train_start < window.train_stop == window.test_start < window.test_stop
        assert ts[window.train_stop - 1] < ts[window.test_start]
        assert ts[window.test_stop - 1] - ts[window.test_start] < 40 * MINUTE
    for before, after in itertools.pairwise(windows):
        assert before.test_stop <= after.test_start


@pytest.mark.parametrize(
    ("ts", "lengths", "message"),
    [
        (TS_95, {"train_ms": 0}, "train_ms must be a positive"),
        (TS_95, {"test_ms": -100}, "test_ms must be a positive"),
        (TS_95, {"step_ms": 0}, "step_ms must be a positive"),
        (TS_95, {"train_ms": True}, "train_ms must be a positive"),
        (TS_95, {"step_ms": 50}, "overlapping test periods"),
        (TS_95, {"train_ms": 941}, "no walk-forward window fits"),
        (TS_95[:1], {}, "no walk-forward window fits"),
        (np.array([], dtype=np.int64), {}, "non-empty"),
        (TS_95.astype(np.float64), {}, "integer open times"),
        (np.array([0, 10, 10, 20]), {}, "strictly increasing"),
        (TS_95.reshape(5, 19), {}, "one-dimensional"),
    ],
)
def test_bad_windows_raise_a_clear_value_error(ts: np.ndarray, lengths: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"train_ms": 300, "test_ms": 100, "step_ms": 100} | lengths
    with pytest.raises(WalkForwardError, match=message) as raised:
        walk_forward_windows(ts, anchored=False, **arguments)
    assert isinstance(raised.value, ValueError)


# A toy strategy whose best parameter changes half-way: "k" grows the equity by RATES[k] per candle,
# k=1 fastest in the first 100 candles, k=3 fastest in the last 100, k=2 in between throughout.
N_TOY = 200
RATES = {
    1: np.where(np.arange(N_TOY) < 100, 0.010, 0.000),
    2: np.full(N_TOY, 0.004),
    3: np.where(np.arange(N_TOY) < 100, -0.002, 0.010),
}
TS_TOY = np.arange(N_TOY, dtype=np.int64) * MINUTE
GRID = GridSearch({"k": [1, 2, 3]})


class ToyStrategy:
    """``evaluate``: equity 100 at the first candle, then compounding ``rates[k]``; records every call."""

    def __init__(self, rates: Mapping[int, np.ndarray] = RATES) -> None:
        self.rates = rates
        self.calls: list[tuple[int, int, int]] = []

    def __call__(self, start: int, stop: int, params: Mapping[str, Any]) -> np.ndarray:
        self.calls.append((start, stop, params["k"]))
        return 100.0 * np.cumprod(np.concatenate([[1.0], 1.0 + self.rates[params["k"]][start + 1 : stop]]))


def _toy_walk_forward(
    evaluate: Evaluate,
    *,
    ts: np.ndarray = TS_TOY,
    objective: Callable[[np.ndarray], float] = _total_return,
    anchored: bool = False,
) -> WalkForwardResult:
    return walk_forward(
        ts,
        evaluate=evaluate,
        objective=objective,
        search=GRID,
        train_ms=40 * MINUTE,
        test_ms=20 * MINUTE,
        step_ms=20 * MINUTE,
        anchored=anchored,
    )


def test_the_grid_picks_each_windows_best_parameter_as_it_changes_over_time() -> None:
    result = _toy_walk_forward(ToyStrategy())
    assert len(result.windows) == 8  # tests [40, 60), [60, 80), ..., [180, 200)
    for row in result.windows:
        window = row.window
        if window.train_stop <= 100:
            assert row.best_params == {"k": 1}
        elif window.train_start >= 100:
            assert row.best_params == {"k": 3}
        best = RATES[row.best_params["k"]]
        assert row.in_sample_objective == pytest.approx(
            np.prod(1 + best[window.train_start + 1 : window.train_stop]) - 1
        )
        test_return = np.prod(1 + best[window.test_start + 1 : window.test_stop]) - 1
        assert row.out_of_sample_return == pytest.approx(test_return)
        assert row.out_of_sample_objective == pytest.approx(test_return)
        assert row.n_trials == 3
        assert (row.train_start_ms, row.train_end_ms) == (TS_TOY[window.train_start], TS_TOY[window.train_stop - 1])
        assert (row.test_start_ms, row.test_end_ms) == (TS_TOY[window.test_start], TS_TOY[window.test_stop - 1])
    # Train [80, 120) straddles the change: k=1's 19 fast candles (1.01**19) beat k=3 and k=2.
    assert [row.best_params["k"] for row in result.windows] == [1, 1, 1, 1, 1, 3, 3, 3]
    table = result.table()
    assert table[0]["best_params"] == {"k": 1}
    assert table[-1]["test_end_ms"] == TS_TOY[-1]
    assert set(table[0]) >= {"train_start_ms", "test_end_ms", "in_sample_objective", "out_of_sample_return"}


def test_the_stitched_equity_is_continuous_and_chains_the_test_returns() -> None:
    result = _toy_walk_forward(ToyStrategy())
    test_candles = np.concatenate([row.window.test for row in result.windows])
    np.testing.assert_array_equal(result.timestamps, TS_TOY[test_candles])
    assert result.equity.size == test_candles.size
    # Continuous: each window starts where the previous one ended.
    joins = np.cumsum([len(row.window.test) for row in result.windows])[:-1]
    np.testing.assert_allclose(result.equity[joins], result.equity[joins - 1], rtol=1e-14)
    # The returns inside each test period, in order, with the winner's rates, compound to the curve.
    expected_returns = np.concatenate(
        [RATES[row.best_params["k"]][row.window.test_start + 1 : row.window.test_stop] for row in result.windows]
    )
    np.testing.assert_allclose(result.returns, expected_returns, atol=1e-14)
    expected_equity, level = [], 100.0
    for row in result.windows:
        rates = RATES[row.best_params["k"]][row.window.test_start + 1 : row.window.test_stop]
        expected_equity.append(level * np.cumprod(np.concatenate([[1.0], 1 + rates])))
        level = expected_equity[-1][-1]
    np.testing.assert_allclose(result.equity, np.concatenate(expected_equity), rtol=1e-12)
    chained = np.prod([1 + row.out_of_sample_return for row in result.windows]) - 1
    assert result.total_return == pytest.approx(chained, rel=1e-12)


def test_trial_returns_hold_every_grid_point_over_every_test_period() -> None:
    result = _toy_walk_forward(ToyStrategy())
    trial_returns = result.trial_returns
    assert result.trial_params == ({"k": 1}, {"k": 2}, {"k": 3})
    assert trial_returns is not None
    assert trial_returns.shape == (result.returns.size, 3) == (8 * 19, 3)  # T x N: 8 tests of 20 candles
    for column, params in enumerate(result.trial_params):
        expected = np.concatenate(
            [RATES[params["k"]][row.window.test_start + 1 : row.window.test_stop] for row in result.windows]
        )
        np.testing.assert_allclose(trial_returns[:, column], expected, atol=1e-14)
    assert 0.0 <= pbo(trial_returns, n_blocks=4) <= 1.0  # the input the metrics module expects


def test_the_selection_never_sees_its_test_period() -> None:
    strategy = ToyStrategy()
    baseline = _toy_walk_forward(strategy)
    windows = [row.window for row in baseline.windows]
    ranges = {(w.train_start, w.train_stop) for w in windows} | {(w.test_start, w.test_stop) for w in windows}
    assert {(start, stop) for start, stop, _ in strategy.calls} == ranges  # each run on one part only
    # Make k=2 the best by far from candle 80 on: windows that trained before 80 must not change.
    future = dict(RATES)
    future[2] = np.where(np.arange(N_TOY) >= 80, 0.05, 0.004)
    changed = _toy_walk_forward(ToyStrategy(future))
    for before, after in zip(baseline.windows, changed.windows, strict=True):
        if before.window.train_stop <= 80:
            assert after.best_params == before.best_params
            assert after.in_sample_objective == before.in_sample_objective
        elif before.window.train_stop >= 100:
            assert after.best_params == {"k": 2}


def test_a_nan_objective_counts_as_minus_infinity() -> None:
    def objective(equity: np.ndarray) -> float:
        return math.nan if equity[-1] > equity[0] * 1.3 else _total_return(equity)  # k=1 fastest but NaN

    result = _toy_walk_forward(ToyStrategy(), ts=TS_TOY[:100], objective=objective)
    assert [row.best_params for row in result.windows] == [{"k": 2}] * 3
    all_nan = _toy_walk_forward(ToyStrategy(), ts=TS_TOY[:100], objective=lambda equity: math.nan, anchored=True)
    assert all(row.best_params == {"k": 1} and row.in_sample_objective == -math.inf for row in all_nan.windows)


def _smooth(start: int, stop: int, params: Mapping[str, Any]) -> np.ndarray:
    # Growth per candle peaks at x = 0.3, n = 7, whatever the window.
    rate = 0.01 - 0.1 * (params["x"] - 0.3) ** 2 - 0.0001 * (params["n"] - 7) ** 2
    rate -= 0.001 * (params["side"] != "long")
    return np.asarray(100.0 * (1.0 + rate) ** np.arange(stop - start), dtype=np.float64)


def _optuna_walk_forward(seed: int) -> WalkForwardResult:
    space: dict[str, FloatRange | IntRange | Choice] = {
        "x": FloatRange(0.0, 1.0),
        "n": IntRange(1, 20),
        "side": Choice(("long", "short")),
    }
    return walk_forward(
        TS_TOY,
        evaluate=_smooth,
        objective=_total_return,
        search=OptunaSearch(space, n_trials=40, seed=seed),
        train_ms=100 * MINUTE,
        test_ms=50 * MINUTE,
        step_ms=50 * MINUTE,
        anchored=False,
    )


def test_optuna_finds_the_optimum_of_a_smooth_objective_deterministically() -> None:
    result = _optuna_walk_forward(seed=0)
    assert len(result.windows) == 2
    for row in result.windows:
        assert row.best_params["x"] == pytest.approx(0.3, abs=0.05)
        assert abs(row.best_params["n"] - 7) <= 2
        assert row.best_params["side"] == "long"
        assert row.n_trials == 40
    assert result.trial_returns is None
    assert result.trial_params is None
    again = _optuna_walk_forward(seed=0)
    assert again.table() == result.table()
    np.testing.assert_array_equal(again.equity, result.equity)
    assert _optuna_walk_forward(seed=1).windows[0].best_params != result.windows[0].best_params


def test_evaluate_must_return_one_positive_equity_per_candle() -> None:
    with pytest.raises(WalkForwardError, match="must return 40 equity values"):
        _toy_walk_forward(lambda start, stop, params: np.ones(stop - start + 1))
    with pytest.raises(WalkForwardError, match="positive finite equity"):
        _toy_walk_forward(lambda start, stop, params: np.zeros(stop - start))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: GridSearch({}), "grid is empty"),
        (lambda: GridSearch({"k": []}), "non-empty list"),
        (lambda: GridSearch({"k": "abc"}), "non-empty list"),
        (lambda: OptunaSearch({}, n_trials=5), "space is empty"),
        (lambda: OptunaSearch({"x": FloatRange(0, 1)}, n_trials=0), "n_trials"),
        (lambda: OptunaSearch({"x": FloatRange(1, 0)}, n_trials=5), "low"),
        (lambda: OptunaSearch({"x": FloatRange(0, 1, log=True)}, n_trials=5), "log"),
        (lambda: OptunaSearch({"x": Choice(())}, n_trials=5), "at least one value"),
        (lambda: OptunaSearch({"x": [1, 2]}, n_trials=5), "IntRange, FloatRange or Choice"),  # type: ignore[dict-item]
    ],
)
def test_bad_searches_raise_a_clear_value_error(make: Any, message: str) -> None:
    with pytest.raises(WalkForwardError, match=message):
        make()


def test_grid_candidates_are_every_combination_last_key_fastest() -> None:
    grid = GridSearch({"fast": [5, 10], "slow": [20, 30, 50]})
    assert grid.candidates() == (
        {"fast": 5, "slow": 20},
        {"fast": 5, "slow": 30},
        {"fast": 5, "slow": 50},
        {"fast": 10, "slow": 20},
        {"fast": 10, "slow": 30},
        {"fast": 10, "slow": 50},
    )
