"""The RL policy behind the model protocol: save/load round trip, votes, shapes, causality over windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.testkit.instruments import btcusd
from trading_agent.backtest.rl_env import TradingEnv, TradingEnvConfig, rl_engine_config
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.engine import EngineConfig
from trading_agent.features import Bars
from trading_agent.models.base import InputKind, ModelInputError, windows
from trading_agent.models.rl_policy import (
    FLAT,
    Algorithm,
    FeatureScaler,
    PositionState,
    RLPolicy,
    new_agent,
    observation,
)

WINDOW = 3
NAMES = ("ret", "ret_prev", "noise")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _raw_features(n: int, seed: int = 5) -> tuple[Bars, np.ndarray]:
    bars = Bars.from_frame(SyntheticMarket(seed=seed).generate(n))
    r = np.diff(np.log(bars.close), prepend=np.log(bars.close[0]))
    noise = np.random.default_rng(seed).normal(100.0, 20.0, n)  # an unscaled column: the scaler must handle it
    return bars, np.column_stack([r, np.roll(r, 1), noise]).astype(np.float32)


@pytest.fixture(scope="module", params=list(Algorithm))
def policy(request: pytest.FixtureRequest) -> RLPolicy:
    algorithm: Algorithm = request.param
    bars, raw = _raw_features(400)
    scaler = FeatureScaler.fit(raw[:300])
    env = TradingEnv(
        bars,
        scaler.transform(raw),
        instrument=btcusd(),
        engine_config=rl_engine_config(EngineConfig(session="rl")),
        config=TradingEnvConfig(algorithm=algorithm, window=WINDOW),
    )
    params = {"n_steps": 64, "batch_size": 32, "n_epochs": 1} if algorithm is Algorithm.PPO else {"learning_starts": 32}
    agent = new_agent(algorithm, env, seed=0, params=params, net_arch=(16,))
    agent.learn(total_timesteps=128)
    return RLPolicy.from_trained(agent, scaler, algorithm=algorithm, window=WINDOW, feature_names=NAMES, name="t")


def test_save_and_load_give_identical_actions_votes_and_metadata(policy: RLPolicy, tmp_path: Path) -> None:
    _, raw = _raw_features(120, seed=9)
    samples = windows(raw, WINDOW)
    policy.save(tmp_path / "policy")
    loaded = RLPolicy.load(tmp_path / "policy")
    assert loaded.metadata == policy.metadata and loaded.algorithm is policy.algorithm
    np.testing.assert_array_equal(loaded.predict_proba(samples), policy.predict_proba(samples))
    long_held = PositionState(exposure=1.0, unrealized_return=0.01, drawdown=0.02)
    assert [loaded.exposure(s, long_held) for s in samples] == [policy.exposure(s, long_held) for s in samples]


def test_votes_are_probabilities_and_predict_proba_follows_the_protocol(policy: RLPolicy) -> None:
    _, raw = _raw_features(120, seed=9)
    samples = windows(raw, WINDOW)
    proba = policy.predict_proba(samples)
    assert proba.shape == (len(samples), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    votes = np.array([policy.vote(s) for s in samples])
    assert np.all((votes >= 0) & (votes <= 1))
    np.testing.assert_array_equal(votes, proba[:, 1])  # the vote is P(up) with the position flat
    assert all(-1.0 <= policy.exposure(s) <= 1.0 for s in samples)
    meta = policy.metadata
    assert meta.input_kind is InputKind.SEQUENCE and meta.window == WINDOW and meta.classes == (0, 1)
    assert meta.feature_names == NAMES and meta.family == "rl-policy"


def test_a_change_in_row_t_plus_1_never_changes_the_output_at_t(policy: RLPolicy) -> None:
    _, raw = _raw_features(80, seed=11)
    t = 50
    changed = raw.copy()
    changed[t + 1 :] = changed[t + 1 :] * -3.0 + 1.0
    before, after = policy.predict_proba(windows(raw, WINDOW)), policy.predict_proba(windows(changed, WINDOW))
    last_at_t = t - WINDOW + 1  # sample i ends at row i + WINDOW - 1
    np.testing.assert_array_equal(before[: last_at_t + 1], after[: last_at_t + 1])


def test_the_observation_is_the_scaled_window_then_the_position(policy: RLPolicy) -> None:
    _, raw = _raw_features(10)
    window = raw[:WINDOW]
    obs = observation(policy.scaler.transform(window), FLAT)
    assert obs.shape == policy.agent.observation_space.shape
    assert policy.exposure(window) == policy.exposure_of_observation(obs)


def test_wrong_shapes_fit_and_an_untrained_policy_raise(policy: RLPolicy) -> None:
    with pytest.raises(ModelInputError, match="shape"):
        policy.predict_proba(np.zeros((2, WINDOW + 1, len(NAMES)), dtype=np.float32))
    with pytest.raises(ModelInputError, match="window of shape"):
        policy.exposure(np.zeros((WINDOW, 2)))
    with pytest.raises(ModelInputError, match="trading environment"):
        policy.fit(np.zeros((4, WINDOW, 3)), np.array([0, 1, 0, 1]))
    with pytest.raises(ModelInputError, match="not trained"):
        _ = RLPolicy(algorithm="ppo", window=2).metadata


def test_the_scaler_uses_the_training_rows_only_and_maps_nan_to_the_mean() -> None:
    train = np.array([[1.0, 10.0], [3.0, 10.0], [np.nan, 10.0]])
    scaler = FeatureScaler.fit(train)
    np.testing.assert_allclose(scaler.mean, [2.0, 10.0])
    np.testing.assert_allclose(scaler.scale, [1.0, 1.0])  # a constant column keeps scale 1
    np.testing.assert_allclose(scaler.transform(np.array([[np.nan, 1e9]])), [[0.0, 5.0]])  # NaN -> 0, clipped at 5
