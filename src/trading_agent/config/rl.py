"""The reinforcement-learning configuration (``config/rl.yaml``): algorithm, budget, seeds, reward, role.

Frozen models that reject unknown keys, like ``config/training.yaml``'s. The walk-forward windows and
the feature set come from the training configuration, so the RL agent is tested on the same windows
as the supervised ensemble; ``folds`` keeps only the last N of those splits (an RL fold costs a
training per seed).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trading_agent.config.errors import describe_validation_error
from trading_agent.config.files import read_yaml_mapping

__all__ = [
    "DqnSection",
    "PpoSection",
    "RLAlgorithmName",
    "RLConfig",
    "RLRole",
    "RewardSection",
    "RlTradingSection",
    "load_rl_config",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RLAlgorithmName(StrEnum):
    """The stable-baselines3 algorithm: PPO trades a continuous exposure, DQN picks flat, long or short."""

    PPO = "ppo"
    DQN = "dqn"


class RLRole(StrEnum):
    """What the trained policy does in the agent: one more ensemble vote, the entry sizing, or nothing."""

    VOTER = "voter"
    SIZING = "sizing"
    OFF = "off"


class RewardSection(_Section):
    """Reward = log equity change - ``drawdown_penalty`` x increase in drawdown."""

    drawdown_penalty: float = Field(default=1.0, ge=0)


class RlTradingSection(_Section):
    """How an exposure becomes contracts."""

    max_exposure: float = Field(default=1.0, gt=0, le=1)
    leverage: float = Field(default=3.0, ge=1)
    rebalance_band: float = Field(default=0.1, ge=0, lt=1)


class PpoSection(_Section):
    """PPO hyperparameters (stable-baselines3 names)."""

    learning_rate: float = Field(default=3e-4, gt=0)
    n_steps: int = Field(default=1024, ge=8)
    batch_size: int = Field(default=128, ge=2)
    n_epochs: int = Field(default=5, ge=1)
    gamma: float = Field(default=0.99, gt=0, le=1)
    ent_coef: float = Field(default=0.0, ge=0)


class DqnSection(_Section):
    """DQN hyperparameters (stable-baselines3 names)."""

    learning_rate: float = Field(default=5e-4, gt=0)
    buffer_size: int = Field(default=50_000, ge=100)
    learning_starts: int = Field(default=1000, ge=0)
    batch_size: int = Field(default=64, ge=2)
    gamma: float = Field(default=0.99, gt=0, le=1)
    train_freq: int = Field(default=4, ge=1)
    target_update_interval: int = Field(default=1000, ge=1)
    exploration_fraction: float = Field(default=0.3, gt=0, le=1)
    exploration_final_eps: float = Field(default=0.02, ge=0, le=1)


class RLConfig(_Section):
    """Everything ``trading-agent rl train`` needs besides the series and the training configuration."""

    algorithm: RLAlgorithmName = RLAlgorithmName.PPO
    timesteps: int = Field(default=20_000, ge=1)
    seeds: tuple[int, ...] = (0, 1, 2)
    folds: int | None = Field(default=3, ge=1)
    window: int = Field(default=8, ge=1)
    features: tuple[str, ...] | None = None
    role: RLRole = RLRole.VOTER
    reward: RewardSection = RewardSection()
    trading: RlTradingSection = RlTradingSection()
    ppo: PpoSection = PpoSection()
    dqn: DqnSection = DqnSection()
    net_arch: tuple[int, ...] = (64, 64)

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {list(seeds)}")
        return seeds

    @field_validator("features")
    @classmethod
    def _some_features(cls, features: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if features is not None and (not features or len(set(features)) != len(features)):
            raise ValueError("features must be null (all) or distinct names")
        return features

    @field_validator("net_arch")
    @classmethod
    def _layers(cls, layers: tuple[int, ...]) -> tuple[int, ...]:
        if not layers or any(n < 1 for n in layers):
            raise ValueError(f"net_arch must list positive layer widths, got {list(layers)}")
        return layers


def load_rl_config(config_dir: Path, path: Path | None = None) -> RLConfig:
    """Load ``rl.yaml`` from ``config_dir`` (or the file ``path``); a clear ``ConfigError`` otherwise."""
    path = path or config_dir / "rl.yaml"
    try:
        return RLConfig.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        raise describe_validation_error(exc, str(path)) from None
