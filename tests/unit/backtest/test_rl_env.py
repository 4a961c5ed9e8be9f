"""The RL environment over the trading engine: the gymnasium contract, shapes, causality, costs, reward, refusals."""

from __future__ import annotations

import math
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

from tests.testkit.instruments import btcusd
from trading_agent.backtest.rl_env import TradingEnv, TradingEnvConfig, rl_engine_config, run_episode
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.engine import EngineConfig
from trading_agent.features import Bars
from trading_agent.models.rl_policy import POSITION_STATE, Algorithm
from trading_agent.risk.limits import RiskLimits

N = 300
WINDOW = 4
LONG, SHORT, FLAT_ACTION = 1, 2, 0


def _frame(seed: int = 3, n: int = N) -> pd.DataFrame:
    return SyntheticMarket(seed=seed).generate(n)


def _features(bars: Bars) -> np.ndarray:
    """Two causal columns: the last log return and the one before it (scaled)."""
    r = np.diff(np.log(bars.close), prepend=np.log(bars.close[0])) / 0.006
    return np.column_stack([r, np.roll(r, 1)]).astype(np.float32)


def _env(
    bars: Bars,
    algorithm: Algorithm = Algorithm.DQN,
    *,
    config: EngineConfig | None = None,
    **fields: object,
) -> TradingEnv:
    engine_config = config or rl_engine_config(EngineConfig(session="rl"))
    env_config = TradingEnvConfig(algorithm=algorithm, window=WINDOW, **fields)  # type: ignore[arg-type]
    return TradingEnv(bars, _features(bars), instrument=btcusd(), engine_config=engine_config, config=env_config)


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_the_environment_passes_gymnasiums_checker(algorithm: Algorithm) -> None:
    env = _env(Bars.from_frame(_frame()), algorithm)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")  # features are unbounded by design
        check_env(env, skip_render_check=True)
    assert env.action_space.shape == (() if algorithm.discrete else (1,))


def test_the_observation_is_the_feature_window_then_the_position_state() -> None:
    bars = Bars.from_frame(_frame())
    env = _env(bars)
    obs, info = env.reset(seed=0)
    features = _features(bars)
    assert obs.shape == (WINDOW * 2 + len(POSITION_STATE),) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs[:-3], features[:WINDOW].ravel())
    np.testing.assert_array_equal(obs[-3:], [0.0, 0.0, 0.0])  # flat, no open PnL, no drawdown
    obs, *_, info = env.step(LONG)
    np.testing.assert_array_equal(obs[:-3], features[1 : WINDOW + 1].ravel())
    assert info["contracts"] > 0 and 0.9 < obs[-3] < 1.1  # a full long, valued at the next close


def test_changing_the_candles_after_t_leaves_every_observation_up_to_t_unchanged() -> None:
    frame = _frame(n=200)
    later = frame.copy()
    t = 120
    later.iloc[t + 1 :, :4] *= 1.3  # every candle after t moves (a valid candle scaled stays valid)
    actions = [LONG, SHORT, FLAT_ACTION, LONG, LONG, SHORT] * 40
    seen = []
    for candles in (frame, later):
        env = _env(Bars.from_frame(candles))
        obs, _ = env.reset(seed=0)
        observations = [obs]
        for action in actions[: t - WINDOW + 1]:  # the last observation is at the close of candle t
            obs, *_ = env.step(action)
            observations.append(obs)
        seen.append(np.stack(observations))
        obs, *_ = env.step(LONG)
        seen.append(obs)
    np.testing.assert_array_equal(seen[0], seen[2])
    assert not np.array_equal(seen[1], seen[3])  # the test can fail: after t they differ


def test_a_round_trip_on_a_flat_market_loses_the_fees() -> None:
    ts = np.arange(50, dtype="int64") * 3_600_000
    flat = pd.DataFrame(
        {"open": 30_000.0, "high": 30_000.0, "low": 30_000.0, "close": 30_000.0, "volume": 1e6},
        index=pd.to_datetime(ts, unit="ms", utc=True),
    )
    env = _env(Bars.from_frame(flat))
    env.reset(seed=0)
    env.step(LONG)
    _, reward, *_, info = env.step(FLAT_ACTION)
    assert info["contracts"] == 0
    (trade,) = env.engine.trades
    assert trade.fees > 0 and env.equity < 10_000
    assert env.equity == pytest.approx(10_000 - float(trade.fees), abs=0.01)  # no price move: the loss is the fees
    assert reward < 0


def test_the_reward_is_the_log_equity_change_minus_the_penalty_on_the_drawdown_increase() -> None:
    env = _env(Bars.from_frame(_frame()), Algorithm.PPO, drawdown_penalty=2.5)
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(1)
    equity, peak, drawdown = info["equity"], info["equity"], 0.0
    penalised = 0
    for _ in range(150):
        _, reward, terminated, _, info = env.step(rng.uniform(-1, 1, size=1).astype(np.float32))
        peak = max(peak, info["equity"])
        new_drawdown = 1 - info["equity"] / peak
        expected = math.log(info["equity"] / equity) - 2.5 * max(0.0, new_drawdown - drawdown)
        assert reward == pytest.approx(expected, rel=1e-9, abs=1e-12)
        penalised += new_drawdown > drawdown
        equity, drawdown = info["equity"], new_drawdown
        if terminated:
            break
    assert penalised > 0  # the penalty term was exercised


def test_a_refused_order_keeps_the_position_and_says_why() -> None:
    strict = EngineConfig(session="rl", limits=RiskLimits(max_position_fraction=0.1, min_time_between_trades_s=0))
    env = _env(Bars.from_frame(_frame()), config=strict)
    env.reset(seed=0)
    _, _, _, _, info = env.step(LONG)  # a full long is 10x the 10% allowed
    assert info["rejected"] and "risk" in info["reject_reason"] and "position" in info["reject_reason"]
    assert info["contracts"] == 0 and not env.engine.trades


def test_dqn_actions_are_flat_long_short_and_a_flip_goes_through_the_risk_gate() -> None:
    env = _env(Bars.from_frame(_frame()), Algorithm.DQN)
    env.reset(seed=0)
    *_, long_info = env.step(LONG)
    *_, short_info = env.step(SHORT)
    *_, flat_info = env.step(FLAT_ACTION)
    assert long_info["contracts"] > 0 > short_info["contracts"] and flat_info["contracts"] == 0
    assert not (long_info["rejected"] or short_info["rejected"] or flat_info["rejected"])
    assert short_info["orders"] == 2  # a flip: reduce-only close, then the new entry


def test_run_episode_plays_to_the_last_candle_with_one_equity_per_close() -> None:
    bars = Bars.from_frame(_frame())
    result = run_episode(_env(bars, Algorithm.PPO), lambda obs: np.array([0.5], dtype=np.float32))
    assert len(result.equity) == len(result.contracts) == N - WINDOW + 1 and len(result.exposure) == N - WINDOW
    assert result.orders >= 1 and result.contracts[-1] > 0  # held half long


@pytest.mark.parametrize(
    ("field", "value"), [("window", 0), ("drawdown_penalty", -1.0), ("max_exposure", 1.5), ("rebalance_band", 1.0)]
)
def test_bad_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        TradingEnvConfig(**{field: value})  # type: ignore[arg-type]


def test_the_rl_engine_config_loosens_only_what_it_documents() -> None:
    base = EngineConfig(session="rl")
    loose = rl_engine_config(base, max_exposure=0.8)
    assert loose.limits.min_time_between_trades_s == 0 and loose.limits.max_position_fraction == 0.8
    assert loose.limits.max_daily_loss_percent == base.limits.max_daily_loss_percent
    assert loose.breakers.volatility_breaker_multiple == base.breakers.volatility_breaker_multiple
    assert loose.fees == base.fees and loose.slippage == base.slippage and loose.execution == base.execution
    assert not (loose.exits.take_profit_enabled or loose.exits.trailing_enabled or loose.exits.time_exit_enabled)
    assert TradingEnvConfig().leverage == Decimal(3)
