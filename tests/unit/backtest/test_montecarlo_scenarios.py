"""Monte Carlo over generated return paths: compounding at an exposure, the sampler protocol, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from trading_agent.backtest.montecarlo import (
    MonteCarloError,
    ReturnPathSampler,
    generated_monte_carlo,
    scenario_paths,
)


class NormalSampler:
    """Seeded Gaussian log returns: the smallest ``ReturnPathSampler``."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int]] = []

    def sample(self, n_paths: int, n_steps: int, seed: int) -> np.ndarray:
        self.calls.append((n_paths, n_steps, seed))
        return np.random.default_rng(seed).normal(0.0, 0.01, size=(n_paths, n_steps))


def test_full_exposure_compounds_the_log_returns() -> None:
    paths = np.random.default_rng(0).normal(0.0, 0.01, size=(300, 150))
    result = scenario_paths(paths, start_equity=1000.0)
    equity = 1000.0 * np.exp(np.cumsum(paths, axis=1))
    assert result.n_paths == 300 and result.steps == 150
    np.testing.assert_allclose(result.final_returns, np.exp(paths.sum(axis=1)) - 1, rtol=1e-10)
    np.testing.assert_allclose(result.band(50)[1:], np.percentile(equity, 50, axis=0), rtol=1e-10)
    np.testing.assert_allclose(result.band(50)[0], 1000.0)
    with_start = np.concatenate([np.full((300, 1), 1000.0), equity], axis=1)
    drawdowns = (1 - with_start / np.maximum.accumulate(with_start, axis=1)).max(axis=1)
    np.testing.assert_allclose(result.max_drawdowns, drawdowns, atol=1e-12)


def test_exposure_scales_the_simple_returns() -> None:
    paths = np.random.default_rng(1).normal(0.0, 0.01, size=(20, 70))
    flat = scenario_paths(paths, start_equity=1.0, exposure=0.0)
    np.testing.assert_array_equal(flat.final_returns, 0.0)
    short = scenario_paths(paths, start_equity=1.0, exposure=-2.0)
    np.testing.assert_allclose(short.final_returns, np.prod(1 - 2 * np.expm1(paths), axis=1) - 1, rtol=1e-10)


def test_generated_monte_carlo_samples_once_with_the_seed() -> None:
    sampler = NormalSampler()
    typed: ReturnPathSampler = sampler  # the protocol is structural: mypy checks this line
    result = generated_monte_carlo(typed, n_paths=50, steps=80, seed=7, start_equity=100.0, exposure=1.5)
    assert sampler.calls == [(50, 80, 7)]
    expected = scenario_paths(NormalSampler().sample(50, 80, 7), start_equity=100.0, exposure=1.5)
    np.testing.assert_array_equal(result.bands, expected.bands)
    np.testing.assert_array_equal(result.max_drawdowns, expected.max_drawdowns)


def test_bad_input() -> None:
    good = np.zeros((2, 3))
    for kwargs in ({"start_equity": 0.0}, {"start_equity": 1.0, "exposure": float("nan")}):
        with pytest.raises(MonteCarloError):
            scenario_paths(good, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(MonteCarloError):
        scenario_paths(np.zeros(3), start_equity=1.0)
    with pytest.raises(MonteCarloError):
        scenario_paths(np.array([[np.inf]]), start_equity=1.0)
    with pytest.raises(MonteCarloError, match="loses more than the whole equity"):
        scenario_paths(np.array([[0.5]]), start_equity=1.0, exposure=-2.0)
    with pytest.raises(MonteCarloError):
        generated_monte_carlo(NormalSampler(), n_paths=0, steps=5, seed=0, start_equity=1.0)
    with pytest.raises(MonteCarloError):
        generated_monte_carlo(NormalSampler(), n_paths=2, steps=0, seed=0, start_equity=1.0)

    class Wrong:
        def sample(self, n_paths: int, n_steps: int, seed: int) -> np.ndarray:
            return np.zeros((n_paths, n_steps + 1))

    with pytest.raises(MonteCarloError, match="expected"):
        generated_monte_carlo(Wrong(), n_paths=2, steps=4, seed=0, start_equity=1.0)
