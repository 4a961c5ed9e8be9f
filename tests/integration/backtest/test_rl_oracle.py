"""The oracle sanity test of the RL environment: leak the next candle's return and the agent must get rich.

If an agent that is TOLD the next return cannot learn to profit after costs, the environment or the
reward is broken. The same agent without the leak (its observation holds only past returns of a
synthetic market) must not show such a profit, so the test can fail both ways.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.testkit.instruments import btcusd
from trading_agent.backtest.rl_env import TradingEnv, TradingEnvConfig, rl_engine_config, run_episode
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.engine import EngineConfig
from trading_agent.features import Bars
from trading_agent.models.rl_policy import Algorithm, new_agent

SCALE = 0.006  # about one hourly standard deviation of the synthetic BTC-like market
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _episode(seed: int, n: int, *, leak: bool) -> tuple[Bars, np.ndarray]:
    bars = Bars.from_frame(SyntheticMarket(seed=seed).generate(n))
    r = np.diff(np.log(bars.close), prepend=np.log(bars.close[0]))
    following = np.append(r[1:], 0.0)  # the return of candle t + 1: known only to the oracle
    second = following if leak else np.roll(r, 1)
    return bars, np.clip(np.column_stack([r, second]) / SCALE, -5, 5).astype(np.float32)


def _env(bars: Bars, features: np.ndarray) -> TradingEnv:
    return TradingEnv(
        bars,
        features,
        instrument=btcusd(),
        engine_config=rl_engine_config(EngineConfig(session="oracle")),
        config=TradingEnvConfig(algorithm=Algorithm.PPO, window=1, drawdown_penalty=0.0),
    )


def _out_of_sample_return(*, leak: bool) -> float:
    agent = new_agent(
        Algorithm.PPO,
        _env(*_episode(1, 1500, leak=leak)),
        seed=0,
        params={"n_steps": 256, "batch_size": 64, "n_epochs": 5, "learning_rate": 1e-3},
        net_arch=(32, 32),
    )
    agent.learn(total_timesteps=2048)
    result = run_episode(_env(*_episode(2, 1000, leak=leak)), lambda obs: agent.predict(obs, deterministic=True)[0])
    return float(result.equity[-1] / result.equity[0] - 1)


def test_an_agent_told_the_next_return_profits_clearly_and_without_the_leak_it_does_not() -> None:
    leaked = _out_of_sample_return(leak=True)
    honest = _out_of_sample_return(leak=False)
    # perfect foresight of 1,000 hourly candles is worth many times the deposit even after fees
    assert leaked > 1.0, f"the oracle agent made only {leaked:.1%}: the environment or the reward is broken"
    assert honest < 0.25, f"without the leak the agent made {honest:.1%} on a random walk: a leak in the env?"
