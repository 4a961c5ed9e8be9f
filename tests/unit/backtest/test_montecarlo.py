"""Monte Carlo: trade bootstrap and stationary block bootstrap, their bands, drawdowns and ruin."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from trading_agent.backtest.metrics import equity_from_returns, max_drawdown
from trading_agent.backtest.montecarlo import (
    PERCENTILES,
    MonteCarloError,
    MonteCarloResult,
    block_bootstrap,
    bootstrap_trades,
    stationary_bootstrap_indices,
)

RETURNS = np.random.default_rng(7).normal(0.001, 0.02, 300)


def _ar1(n: int, phi: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, 0.01, n)
    series = np.empty(n)
    series[0] = noise[0]
    for i in range(1, n):
        series[i] = phi * series[i - 1] + noise[i]
    return series + 0.0005


def _lag1_autocorrelation(paths: np.ndarray) -> float:
    centred = paths - paths.mean(axis=1, keepdims=True)
    return float(np.mean(np.sum(centred[:, 1:] * centred[:, :-1], axis=1) / np.sum(centred**2, axis=1)))


@pytest.mark.parametrize(
    "result",
    [
        bootstrap_trades(RETURNS, n_paths=500, seed=1, start_equity=1000.0),
        block_bootstrap(RETURNS, block=10, n_paths=500, seed=1, start_equity=1000.0),
    ],
    ids=["trades", "blocks"],
)
def test_bands_are_ordered_start_at_the_start_and_match_numpy_percentiles(result: MonteCarloResult) -> None:
    assert result.bands.shape == (len(PERCENTILES), RETURNS.size + 1)
    assert result.n_paths == 500
    assert result.steps == RETURNS.size
    assert np.all(np.diff(result.bands, axis=0) >= 0)  # 5 <= 25 <= 50 <= 75 <= 95 at every step
    np.testing.assert_array_equal(result.bands[:, 0], 1000.0)
    final_equity = 1000.0 * (1.0 + result.final_returns)
    np.testing.assert_allclose(result.bands[:, -1], np.percentile(final_equity, PERCENTILES), rtol=1e-12)
    np.testing.assert_array_equal(result.band(50), result.bands[2])
    assert list(result.final_return_percentiles()) == list(PERCENTILES)
    np.testing.assert_allclose(
        list(result.max_drawdown_percentiles().values()), np.percentile(result.max_drawdowns, PERCENTILES)
    )


def test_a_constant_return_gives_zero_width_bands_on_the_compounded_curve() -> None:
    result = bootstrap_trades(np.full(50, 0.01), n_paths=200, seed=3, start_equity=100.0)
    expected = 100.0 * 1.01 ** np.arange(51)
    for band in result.bands:
        np.testing.assert_allclose(band, expected, rtol=1e-12)
    assert np.ptp(result.bands, axis=0).max() == 0.0
    np.testing.assert_allclose(result.final_returns, 1.01**50 - 1)


def test_all_positive_returns_never_ruin_and_never_draw_down() -> None:
    for result in (
        bootstrap_trades(np.abs(RETURNS) + 1e-4, n_paths=300, seed=5, start_equity=1.0),
        block_bootstrap(np.abs(RETURNS) + 1e-4, block=5, n_paths=300, seed=5, start_equity=1.0),
    ):
        np.testing.assert_array_equal(result.max_drawdowns, 0.0)
        assert result.probability_of_ruin(0.01) == 0.0
        assert result.probability_of_ruin(1.0) == 0.0
        assert np.all(result.final_returns > 0)


def test_ruin_counts_paths_that_touch_the_threshold_at_any_step() -> None:
    result = bootstrap_trades(np.array([-0.5]), n_paths=10, seed=0, start_equity=200.0)
    assert result.probability_of_ruin(0.5) == 1.0  # falls to exactly 100 = (1 - 0.5) x 200: ruined
    assert result.probability_of_ruin(0.49) == 1.0
    assert result.probability_of_ruin(0.51) == 0.0
    # Down 50% then up 150%: ruined at 50% on the way, though it ends up.
    late = bootstrap_trades(np.array([-0.5, 1.5]), n_paths=2000, seed=0, start_equity=1.0)
    ruined_share = late.probability_of_ruin(0.5)
    assert 0.45 < ruined_share < 0.55  # ruined iff the first draw is the loss (1/2) ...
    assert 0.2 < np.mean(late.final_returns <= -0.5) < 0.3  # ... but only 1/4 of paths end there


@pytest.mark.parametrize(("block", "simulate"), [(1, "trades"), (1, "blocks"), (7, "blocks")])
def test_paths_are_the_returns_at_the_published_indices(block: int, simulate: str) -> None:
    returns = np.random.default_rng(2).normal(0.0, 0.05, 150)
    if simulate == "trades":
        result = bootstrap_trades(returns, n_paths=40, seed=11, start_equity=10.0)
    else:
        result = block_bootstrap(returns, block=block, n_paths=40, seed=11, start_equity=10.0)
    indices = stationary_bootstrap_indices(returns.size, block=block, n_paths=40, seed=11)
    assert indices.shape == (40, 150)
    assert indices.min() >= 0
    assert indices.max() < 150
    paths = [equity_from_returns(returns[row], start=10.0) for row in indices]
    np.testing.assert_allclose(result.final_returns, [path[-1] / 10.0 - 1 for path in paths], rtol=1e-10)
    np.testing.assert_allclose(result.max_drawdowns, [max_drawdown(path) for path in paths], atol=1e-12)
    np.testing.assert_allclose(result.lowest_equity, [path.min() for path in paths], rtol=1e-10)
    for loss in (0.1, 0.3):
        expected = np.mean([path.min() <= (1 - loss) * 10.0 for path in paths])
        assert result.probability_of_ruin(loss) == expected


def test_stationary_indices_continue_blocks_and_wrap_around() -> None:
    indices = stationary_bootstrap_indices(100, block=25, n_paths=200, seed=4)
    steps = np.diff(indices, axis=1)
    continued = (steps == 1) | (steps == -99)  # the next bar, or the wrap from the last bar to the first
    assert 0.94 < continued.mean() < 0.98  # a block continues with probability 1 - 1/25 (+ lucky restarts)
    assert np.any(steps == -99)
    iid = stationary_bootstrap_indices(100, block=1, n_paths=200, seed=4)
    assert np.mean(np.diff(iid, axis=1) == 1) < 0.05


def test_block_bootstrap_keeps_the_mean_and_the_autocorrelation_iid_loses() -> None:
    series = _ar1(2000, phi=0.6, seed=9)
    original = _lag1_autocorrelation(series[None, :])
    assert original > 0.5
    blocks = series[stationary_bootstrap_indices(series.size, block=20, n_paths=300, seed=1)]
    iid = series[stationary_bootstrap_indices(series.size, block=1, n_paths=300, seed=1)]
    standard_error = series.std() / np.sqrt(series.size)  # of one path's mean, before averaging 300 paths
    assert abs(blocks.mean() - series.mean()) < standard_error
    assert abs(iid.mean() - series.mean()) < standard_error
    kept, lost = _lag1_autocorrelation(blocks), _lag1_autocorrelation(iid)
    assert abs(kept - original) < 0.1  # ~ phi x (1 - 1/20): each join breaks one lag
    assert abs(lost) < 0.02
    assert abs(kept - original) < abs(lost - original) / 5
    median = block_bootstrap(series, block=20, n_paths=300, seed=1, start_equity=1.0).final_return_percentiles()[50]
    assert median == pytest.approx(np.prod(1 + series) - 1, rel=0.5)


def test_seeded_results_are_reproducible_and_the_seed_matters() -> None:
    simulations: list[Callable[[int], MonteCarloResult]] = [
        lambda seed: bootstrap_trades(RETURNS, n_paths=100, seed=seed, start_equity=1.0),
        lambda seed: block_bootstrap(RETURNS, block=8, n_paths=100, seed=seed, start_equity=1.0),
    ]
    for simulate in simulations:
        first, again, other = simulate(42), simulate(42), simulate(43)
        for name in ("bands", "max_drawdowns", "final_returns", "lowest_equity"):
            np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
        assert not np.array_equal(first.final_returns, other.final_returns)
    with pytest.raises(ValueError, match="read-only"):
        first.bands[0, 0] = 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bootstrap_trades([], n_paths=10, seed=0, start_equity=1.0), "empty"),
        (lambda: block_bootstrap([], block=2, n_paths=10, seed=0, start_equity=1.0), "empty"),
        (lambda: bootstrap_trades([0.1, -1.0], n_paths=10, seed=0, start_equity=1.0), "above -1"),
        (lambda: block_bootstrap([0.1, -1.5], block=1, n_paths=10, seed=0, start_equity=1.0), "above -1"),
        (lambda: bootstrap_trades([0.1, np.nan], n_paths=10, seed=0, start_equity=1.0), "finite"),
        (lambda: bootstrap_trades([[0.1]], n_paths=10, seed=0, start_equity=1.0), "one-dimensional"),
        (lambda: block_bootstrap([0.1, 0.2], block=0, n_paths=10, seed=0, start_equity=1.0), "block"),
        (lambda: block_bootstrap([0.1, 0.2], block=3, n_paths=10, seed=0, start_equity=1.0), "must not exceed"),
        (lambda: bootstrap_trades([0.1], n_paths=0, seed=0, start_equity=1.0), "n_paths"),
        (lambda: block_bootstrap([0.1], block=1, n_paths=-5, seed=0, start_equity=1.0), "n_paths"),
        (lambda: bootstrap_trades([0.1], n_paths=10, seed=0, start_equity=0.0), "start_equity"),
        (lambda: bootstrap_trades([0.1], n_paths=10, seed=1.5, start_equity=1.0), "seed"),  # type: ignore[arg-type]
        (lambda: stationary_bootstrap_indices(0, block=1, n_paths=1, seed=0), "n_bars"),
        (lambda: bootstrap_trades([0.1], n_paths=3, seed=0, start_equity=1.0).probability_of_ruin(0.0), "loss"),
        (lambda: bootstrap_trades([0.1], n_paths=3, seed=0, start_equity=1.0).probability_of_ruin(1.5), "loss"),
        (lambda: bootstrap_trades([0.1], n_paths=3, seed=0, start_equity=1.0).band(10), "percentile"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(MonteCarloError, match=message) as raised:
        call()
    assert isinstance(raised.value, ValueError)
