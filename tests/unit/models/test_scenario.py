"""The scenario generator on a small synthetic GARCH series: shapes, determinism, save/load, bad input.
Its stylised facts on real BTC 1h returns are tested in tests/integration/models/test_scenario_real_data.py."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from tests.testkit.features import garch_returns
from trading_agent.models.base import ModelInputError
from trading_agent.models.scenario import ScenarioGenerator, volatility_and_shocks

TINY = {"window": 8, "hidden": 16, "latent": 4, "epochs": 3, "bank_size": 64, "vol_halflife": 8.0}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@functools.cache
def fitted() -> ScenarioGenerator:
    return ScenarioGenerator(**TINY).fit(garch_returns())


def test_sample_shape_and_values() -> None:
    paths = fitted().sample(5, 50, seed=1)  # 50 is not a multiple of the window: the last window is cut
    assert paths.shape == (5, 50) and paths.dtype == np.float64
    assert np.all(np.isfinite(paths)) and 1e-4 < paths.std() < 0.1


def test_deterministic_with_the_seed() -> None:
    generator = fitted()
    np.testing.assert_array_equal(generator.sample(4, 30, seed=3), generator.sample(4, 30, seed=3))
    assert not np.array_equal(generator.sample(4, 30, seed=3), generator.sample(4, 30, seed=4))
    again = ScenarioGenerator(**TINY).fit(garch_returns())
    np.testing.assert_array_equal(again.sample(4, 30, seed=3), generator.sample(4, 30, seed=3))


def test_save_load_round_trip(tmp_path: Path) -> None:
    generator = fitted()
    generator.save(tmp_path / "gen")
    assert {p.name for p in (tmp_path / "gen").iterdir()} == {"model.pt", "generator.json"}
    loaded = ScenarioGenerator.load(tmp_path / "gen")
    assert loaded.metadata == generator.metadata
    np.testing.assert_array_equal(loaded.sample(3, 40, seed=9), generator.sample(3, 40, seed=9))


def test_volatility_and_shocks_factorise_the_returns() -> None:
    r = garch_returns(500)
    log_vol, shock = volatility_and_shocks(r, 8.0)
    assert log_vol.shape == shock.shape == (499,)
    np.testing.assert_allclose(np.exp(log_vol) * shock, r[1:], rtol=1e-12)
    # sigma_{t-1} uses returns up to t-1 only: changing r_t leaves log_vol at t unchanged
    changed = r.copy()
    changed[300] *= 10
    np.testing.assert_array_equal(volatility_and_shocks(changed, 8.0)[0][:300], log_vol[:300])


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ModelInputError):
        ScenarioGenerator(nope=1)
    with pytest.raises(ModelInputError):
        ScenarioGenerator(window=0)
    with pytest.raises(ModelInputError):
        ScenarioGenerator().sample(1, 1, seed=0)  # not fitted
    with pytest.raises(ModelInputError):
        ScenarioGenerator(**TINY).fit(np.zeros((10, 2)))
    with pytest.raises(ModelInputError):
        ScenarioGenerator(**TINY).fit(np.full(100, np.nan))
    with pytest.raises(ModelInputError):
        ScenarioGenerator(**TINY).fit(garch_returns(60))  # too short
    with pytest.raises(ModelInputError):
        fitted().sample(0, 10, seed=0)
    with pytest.raises(ModelInputError):
        ScenarioGenerator.load(tmp_path)
