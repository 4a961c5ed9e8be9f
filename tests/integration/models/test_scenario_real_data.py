"""The scenario generator on real BTC/USDT 1h returns: a short fit must give fat tails, volatility clustering and
near-zero return autocorrelation, which Gaussian noise of the same variance does not (docs/backtest.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trading_agent.backtest.montecarlo import generated_monte_carlo
from trading_agent.backtest.stylised_facts import stylised_facts
from trading_agent.data.files import read_candle_file
from trading_agent.domain import Timeframe
from trading_agent.models.scenario import ScenarioGenerator

SHORT_FIT = {"epochs": 8}
RETURNS = 20_000
"""The last 20,000 hours (2022-03 .. 2024-06): about 15 s of fitting on one thread."""

pytestmark = [pytest.mark.real_data, pytest.mark.usefixtures("one_torch_thread")]


def facts_bounds_hold(paths: np.ndarray) -> bool:
    facts = stylised_facts(paths)
    return facts.excess_kurtosis > 2.0 and facts.acf_abs[0] > 0.02 and abs(facts.acf_returns[0]) < 0.05


def test_generated_returns_keep_the_stylised_facts(btc_1h_path: Path) -> None:
    close = read_candle_file(btc_1h_path, Timeframe.H1)["close"].to_numpy()
    returns = np.diff(np.log(close))[-RETURNS:]
    generator = ScenarioGenerator(**SHORT_FIT).fit(returns)
    paths = generator.sample(200, 1000, seed=0)
    facts = stylised_facts(paths)
    print(facts)  # pytest -s shows it
    assert facts.excess_kurtosis > 2.0, facts  # real: about 20-40 in pieces of 1,000 hours
    assert facts.acf_abs[0] > 0.02 and facts.acf_abs[1] > 0.01, facts  # real: 0.20, 0.13; noise: 0 +- 0.003
    assert abs(facts.acf_returns[0]) < 0.05, facts  # real: -0.03
    assert 0.5 < paths.std() / returns.std() < 2.0
    gaussian = np.random.default_rng(0).normal(returns.mean(), returns.std(), size=paths.shape)
    assert not facts_bounds_hold(gaussian)  # the bounds do tell the generator from noise

    result = generated_monte_carlo(generator, n_paths=200, steps=1000, seed=0, start_equity=10_000.0)
    assert result.n_paths == 200 and result.steps == 1000
    np.testing.assert_allclose(result.final_returns, np.exp(paths.sum(axis=1)) - 1, rtol=1e-9)
