"""The statistical group's shared kernels: exact running sums, flat windows, log returns, z-scores."""

from __future__ import annotations

import math

import numpy as np

from tests.testkit.features import make_bars
from trading_agent.features.groups.statistical_kernels import (
    EqualRun,
    Source,
    SourceReader,
    flat_windows,
    log_returns,
    running_sum,
    zscores,
)
from trading_agent.features.rolling import RollingSum


def test_running_sum_is_rolling_sum_bit_for_bit_and_skips_leading_nans() -> None:
    rng = np.random.default_rng(1)
    values = np.r_[np.nan, np.nan, rng.normal(0, 1e-3, 5000) ** 2]
    rolling = RollingSum(37)
    streamed = [math.nan, math.nan, *(rolling.update(float(v)) for v in values[2:])]
    np.testing.assert_array_equal(running_sum(values, 37), np.array(streamed))


def test_flat_windows_match_the_streaming_run_length() -> None:
    values = np.array([np.nan, 1.0, 1.0, 1.0, 2.0, 2.0, np.nan, 3.0, 3.0, 3.0, 3.0])
    run = EqualRun()
    runs = np.array([run.update(float(v)) for v in values])
    for n in (1, 2, 3, 4):
        np.testing.assert_array_equal(flat_windows(values, n), runs >= n)
    np.testing.assert_array_equal(flat_windows(values, 3), [0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1])


def test_log_returns_are_the_same_in_both_paths_and_undefined_on_the_first_bar() -> None:
    bars = make_bars([100.0, 101.0, 99.0, 99.0], spread=0.5)
    reader = SourceReader(Source.LOGRET)
    streamed = [reader.read(bars.bar(i)) for i in range(len(bars))]
    np.testing.assert_array_equal(log_returns(bars.close), streamed)
    assert math.isnan(streamed[0]) and streamed[3] == 0.0
    assert streamed[1] == math.log(101 / 100)


def test_zscores_are_zero_on_flat_windows_and_zero_std_and_nan_while_unknown() -> None:
    values = np.array([1.0, 2.0, 3.0, 3.0])
    mean = np.array([np.nan, 1.5, 2.0, 3.0])
    std = np.array([np.nan, 0.5, 1.0, 0.0])
    flat = np.array([False, False, True, False])
    np.testing.assert_array_equal(zscores(values, mean, std, flat), [np.nan, 1.0, 0.0, 0.0])
