"""Definitions of the statistical features, on hand-made and simulated candles, in both paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.testkit.features import batch_and_stream, make_bars, random_walk
from trading_agent.features.groups import statistical
from trading_agent.features.groups.statistical_entropy import ReturnEntropy
from trading_agent.features.groups.statistical_kernels import Source
from trading_agent.features.groups.statistical_scaling import ScalingExponents
from trading_agent.features.groups.statistical_scores import PercentileRank, RollingZScore
from trading_agent.features.groups.statistical_serial import AutoCorrelation


def test_the_group_registers_18_uniquely_named_statistical_features() -> None:
    names = [spec.name for indicator in statistical.default_indicators() for spec in indicator.specs]
    assert len(names) == len(set(names)) == 18
    assert {"zscore_close_20", "pctrank_volume_100", "acf_lag10_100", "pacf_lag3_100", "sampen_logret_50"} <= set(names)


def test_streaming_equals_batch_exactly_over_long_flat_and_periodic_stretches() -> None:
    close = random_walk(6000, seed=4, step=1e-3)
    volume = np.random.default_rng(5).exponential(10, 6000)
    close[1000:1200] = close[1000]  # a halted market: flat price, no volume
    volume[1000:1200] = 0.0
    close[3000:3150:2], close[3001:3150:2] = close[3000], close[3000] * 1.0001  # a two-tick bounce
    bars = make_bars(close, volume=volume, spread=0.5)
    for indicator in statistical.default_indicators():
        batch_and_stream(indicator, bars)


def test_zscore_by_hand_and_zero_on_a_flat_window() -> None:
    [z] = batch_and_stream(RollingZScore(Source.CLOSE, 5), make_bars([5, 1, 2, 3, 4, 5, 5, 5, 5, 5], spread=0.5))
    assert np.isnan(z[:4]).all()
    assert z[5] == pytest.approx((5 - 3) / math.sqrt(2))  # window 1..5: mean 3, population std sqrt(2)
    assert z[9] == 0.0  # five equal closes


def test_zscore_of_volume_is_zero_through_a_stretch_of_zero_volume() -> None:
    volume = [3.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0]
    [z] = batch_and_stream(RollingZScore(Source.VOLUME, 3), make_bars([100.0] * 10, volume=volume, spread=0.5))
    np.testing.assert_array_equal(z[5:9], 0.0)
    assert z[9] == pytest.approx(math.sqrt(2))  # 0, 0, 4: mean 4/3, std sqrt(32)/3


def test_percentile_rank_counts_ties_half() -> None:
    indicator = PercentileRank(Source.CLOSE, (3, 5))
    short, long = batch_and_stream(indicator, make_bars([1, 2, 2, 3, 2, 0, 9, 9, 9, 9, 9], spread=0.5))
    assert np.isnan(short[:2]).all() and np.isnan(long[:4]).all()
    assert long[4] == 0.5  # 2 among 1, 2, 2, 3: one below, two equal -> (1 + 1) / 4
    assert short[3] == 1.0 and short[5] == 0.0  # a new high, a new low
    assert long[10] == short[10] == 0.5  # a flat window


def sample_acf(window: np.ndarray, k: int) -> float:
    centred = window - window.mean()
    return float(np.dot(centred[k:], centred[:-k]) / np.dot(centred, centred))


def test_autocorrelations_are_the_textbook_window_acf_and_durbin_levinson() -> None:
    close = random_walk(400, seed=6, step=1e-3) * np.exp(0.02 * np.sin(np.arange(400)))  # some serial structure
    indicator = AutoCorrelation(window=100, lags=(1, 2, 5, 10))
    columns = dict(
        zip([s.name for s in indicator.specs], batch_and_stream(indicator, make_bars(close, spread=0.5)), strict=True)
    )
    returns = np.diff(np.log(close))
    for t in (100, 250, 399):
        window = returns[t - 100 : t]  # r_{t-99} .. r_t
        for k in (1, 2, 5, 10):
            assert columns[f"acf_lag{k}_100"][t] == pytest.approx(sample_acf(window, k), abs=1e-12)
        rho = [1.0, *(sample_acf(window, k) for k in (1, 2, 3))]
        for order in (2, 3):  # phi_kk is the last Yule-Walker coefficient of an AR(k)
            toeplitz = np.array([[rho[abs(i - j)] for j in range(order)] for i in range(order)])
            phi = np.linalg.solve(toeplitz, rho[1 : order + 1])
            assert columns[f"pacf_lag{order}_100"][t] == pytest.approx(phi[-1], abs=1e-10)
    assert np.isnan(columns["acf_lag1_100"][:100]).all()


def test_autocorrelations_are_zero_when_the_window_is_flat() -> None:
    columns = batch_and_stream(AutoCorrelation(window=20, lags=(1, 5)), make_bars([100.0] * 40, spread=0.5))
    for column in columns:
        np.testing.assert_array_equal(column[20:], 0.0)


def entropies_by_brute_force(z: np.ndarray, t: int, window: int, cell: float) -> tuple[float, float]:
    symbols = z[t - window + 1 : t + 1]
    counts = np.bincount(np.searchsorted([-1.5, -0.5, 0.5, 1.5], symbols), minlength=5)
    p = counts[counts > 0] / window
    shannon = float(-(p * np.log(p)).sum() / math.log(5))
    cells = np.floor(symbols / cell)
    starts = window - 2
    pairs = [(i, j) for i in range(starts) for j in range(i + 1, starts)]
    b = sum(bool(cells[i] == cells[j] and cells[i + 1] == cells[j + 1]) for i, j in pairs)
    a = sum(
        bool(cells[i] == cells[j] and cells[i + 1] == cells[j + 1] and cells[i + 2] == cells[j + 2]) for i, j in pairs
    )
    return shannon, (math.log(b / a) if a else math.log(len(pairs)))


def test_entropies_match_a_brute_force_count_of_bins_and_templates() -> None:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(np.round(rng.normal(0, 1, 300)) * 1e-3))  # coarse returns: many matches
    indicator = ReturnEntropy(window=30, z_window=10, tolerance=0.2)
    z, shannon, sampen = batch_and_stream(indicator, make_bars(close, spread=0.5))
    assert indicator.specs[1].warmup == 39 and np.isnan(shannon[:39]).all() and not np.isnan(shannon[39:]).any()
    for t in (39, 120, 299):
        expected_shannon, expected_sampen = entropies_by_brute_force(z, t, 30, 0.4)
        assert shannon[t] == pytest.approx(expected_shannon, abs=1e-12)
        assert sampen[t] == pytest.approx(expected_sampen, abs=1e-12)


def test_entropies_of_a_flat_market_are_zero() -> None:
    _, shannon, sampen = batch_and_stream(ReturnEntropy(window=10, z_window=5), make_bars([50.0] * 40, spread=0.5))
    np.testing.assert_array_equal(shannon[14:], 0.0)
    np.testing.assert_array_equal(sampen[14:], 0.0)


@pytest.mark.parametrize(
    ("log_close", "hurst", "dimension"),
    [
        (np.cumsum(np.random.default_rng(8).normal(0, 1e-3, 20_000)), 0.5, 1.5),  # a random walk
        (np.random.default_rng(9).normal(0, 1e-3, 20_000), 0.0, 2.0),  # white noise around a level
    ],
)
def test_scaling_exponents_of_known_processes(log_close: np.ndarray, hurst: float, dimension: float) -> None:
    h, d = ScalingExponents(window=100).batch(make_bars(100 * np.exp(log_close), spread=0.5))
    assert np.nanmedian(h) == pytest.approx(hurst, abs=0.06)
    assert np.nanmedian(d) == pytest.approx(dimension, abs=0.06)


def test_fractal_dimension_of_a_straight_line_is_one_and_degenerate_windows_are_neutral() -> None:
    growth = 100 * np.exp(1e-3 * np.arange(200))  # log price is a straight line
    h, d = batch_and_stream(ScalingExponents(window=50), make_bars(growth, spread=0.5))
    assert np.isnan(d[:50]).all()
    np.testing.assert_allclose(d[50:], 1.0, atol=1e-6)
    np.testing.assert_array_equal(h[50:], 0.5)  # equal k-bar changes: no variance to scale
    h, d = batch_and_stream(ScalingExponents(window=50), make_bars([7.0] * 80, spread=0.5))
    np.testing.assert_array_equal(h[50:], 0.5)
    np.testing.assert_array_equal(d[50:], 1.5)


@pytest.mark.parametrize("length", [0, 1, 4, 7, 60])
def test_histories_shorter_than_the_windows_are_all_warm_up(length: int) -> None:
    bars = make_bars(random_walk(length, seed=10, step=1e-3), spread=0.5)
    for indicator in statistical.default_indicators():
        for spec, column in zip(indicator.specs, batch_and_stream(indicator, bars), strict=True):
            assert column.shape == (length,)
            assert np.isnan(column[: spec.warmup]).all()
