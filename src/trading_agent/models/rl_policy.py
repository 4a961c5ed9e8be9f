"""The reinforcement-learning policy behind the model protocol: a trained stable-baselines3 agent.

The agent was trained in ``backtest.rl_env.TradingEnv`` (the trading engine, costs on); this
module holds what serving it needs and nothing of the engine: the observation layout, the
feature scaler fitted on the training window, the action-to-exposure mapping, and the SB3 model.

**Observation** (``observation``): the last ``window`` feature rows, scaled and flattened (oldest
first, row-major), then the position state ``exposure`` (signed notional / equity),
``unrealized_return`` (open PnL / equity) and ``drawdown`` (1 - equity / peak), float32.

**Actions**: DQN picks one of ``DISCRETE_EXPOSURES`` (flat, long, short: 0, +1, -1); PPO outputs a
target exposure in [-1, 1] (clipped). Exposure 1 means ``max_exposure`` x equity long.

**Roles** (``config/rl.yaml`` ``role``):

- ``voter``: ``vote(window)`` is the probability of "up" the ensemble can average with its other
  votes. It is ``(1 + exposure) / 2`` of the policy's deterministic action with the position
  state taken as **flat** (a voter knows no position): 1 for long, 0 for short, 0.5 for flat or,
  for PPO, anything in between. ``predict_proba`` is the same over many windows (columns: class 0
  "down", class 1 "up"), so the policy fits wherever a ``Model`` does.
- ``sizing``: ``exposure(window, position)`` is the target exposure given the real position; the
  agent loop scales its entry size by ``abs(exposure)`` (and stays out when the sign disagrees
  with the signal). Wiring it into the loop is the agent's job (issue 8).

**fit**: the protocol's ``fit(X, y)`` cannot train an RL agent (it learns from rewards in the
environment, not from labels), so ``fit`` raises; ``services.rl_training`` trains the SB3 model in
the environment and wraps it with ``RLPolicy.from_trained``. Saved as ``policy.zip`` (SB3's own
format), ``scaler.npz`` and ``metadata.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import numpy as np

from trading_agent.models.base import (
    InputKind,
    ModelInputError,
    ModelMetadata,
    check_predict_input,
    library_version,
    read_model_dir,
    write_metadata,
)

__all__ = [
    "DISCRETE_EXPOSURES",
    "FLAT",
    "POSITION_STATE",
    "Algorithm",
    "FeatureScaler",
    "PositionState",
    "RLPolicy",
    "action_exposure",
    "new_agent",
    "observation",
    "observation_size",
    "read_policy_metadata",
]

POSITION_STATE = ("exposure", "unrealized_return", "drawdown")
DISCRETE_EXPOSURES = (0.0, 1.0, -1.0)
"""Exposure of each discrete action: 0 flat, 1 long, 2 short."""
_POLICY_FILE = "policy.zip"
_SCALER_FILE = "scaler.npz"
_FAMILY = "rl-policy"


class Algorithm(StrEnum):
    """The stable-baselines3 algorithm, which fixes the action space."""

    PPO = "ppo"  # continuous target exposure in [-1, 1]
    DQN = "dqn"  # discrete: flat, long, short

    @property
    def discrete(self) -> bool:
        """Whether the agent picks one of ``DISCRETE_EXPOSURES`` (else a continuous exposure)."""
        return self is Algorithm.DQN


@dataclass(frozen=True, slots=True)
class PositionState:
    """What the policy knows of the account: signed exposure, open PnL and drawdown, as fractions of equity."""

    exposure: float = 0.0
    unrealized_return: float = 0.0
    drawdown: float = 0.0

    def as_array(self) -> np.ndarray:
        """The three values in ``POSITION_STATE`` order, float32."""
        return np.array([self.exposure, self.unrealized_return, self.drawdown], dtype=np.float32)


FLAT = PositionState()


def observation_size(window: int, n_features: int) -> int:
    """Length of the flat observation: ``window`` rows of ``n_features`` plus the position state."""
    return window * n_features + len(POSITION_STATE)


def observation(rows: np.ndarray, position: PositionState) -> np.ndarray:
    """The flat float32 observation of scaled feature ``rows`` (``(window, n_features)``, oldest first)."""
    return np.concatenate([np.asarray(rows, dtype=np.float32).ravel(), position.as_array()])


def action_exposure(action: Any, algorithm: Algorithm) -> float:
    """The target exposure in [-1, 1] of an agent's ``action`` (an index for DQN, a 1-element array for PPO)."""
    if algorithm.discrete:
        return DISCRETE_EXPOSURES[int(np.asarray(action).reshape(-1)[0])]
    return float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))


def read_policy_metadata(path: Path) -> ModelMetadata:
    """The metadata of a directory written by ``RLPolicy.save``; ``ModelInputError`` when it is not one."""
    return read_model_dir(Path(path), _FAMILY, _POLICY_FILE)


@dataclass(frozen=True, slots=True)
class FeatureScaler:
    """Z-scores with the training window's mean and standard deviation, clipped to ``±clip``; NaN becomes 0.

    Fit it on training rows only (``fit``), so no statistic of a later window leaks in.
    """

    mean: np.ndarray
    scale: np.ndarray
    clip: float = 5.0

    @classmethod
    def fit(cls, X: np.ndarray, clip: float = 5.0) -> FeatureScaler:
        """The scaler of rows ``X`` (``(n, n_features)``; NaN ignored, a constant column keeps scale 1)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ModelInputError(f"the scaler is fitted on a non-empty 2-D matrix, got shape {X.shape}")
        with np.errstate(all="ignore"):
            mean = np.nan_to_num(np.nanmean(np.where(np.isfinite(X), X, np.nan), axis=0))
            std = np.nan_to_num(np.nanstd(np.where(np.isfinite(X), X, np.nan), axis=0))
        return cls(mean, np.where(std > 1e-12, std, 1.0), clip)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scaled float32 rows of the same shape as ``X`` (any leading dimensions, features last)."""
        with np.errstate(all="ignore"):
            z = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
        finite = np.nan_to_num(z, nan=0.0, posinf=self.clip, neginf=-self.clip)
        scaled: np.ndarray = np.clip(finite, -self.clip, self.clip).astype(np.float32)
        return scaled


def new_agent(
    algorithm: Algorithm | str,
    env: Any,
    *,
    seed: int,
    params: dict[str, Any] | None = None,
    net_arch: Sequence[int] = (64, 64),
) -> Any:
    """A fresh SB3 ``PPO`` or ``DQN`` (``MlpPolicy``, CPU) on ``env``, seeded: Python, numpy, torch and the env.

    ``params`` are the algorithm's keyword arguments (``learning_rate``, ``n_steps``, ...). Runs are
    reproducible for one seed on one torch thread (set ``torch.set_num_threads(1)`` for that).
    """
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.utils import set_random_seed

    chosen = Algorithm(algorithm)
    set_random_seed(seed)
    agent_class = DQN if chosen.discrete else PPO
    return agent_class(
        "MlpPolicy",
        env,
        seed=seed,
        device="cpu",
        verbose=0,
        policy_kwargs={"net_arch": list(net_arch)},
        **(params or {}),
    )


class RLPolicy:
    """A trained SB3 agent (PPO or DQN) with its scaler: ``exposure``, ``vote`` and ``predict_proba``.

    See the module docstring for the observation, the roles and why ``fit`` raises.
    """

    family = _FAMILY
    input_kind = InputKind.SEQUENCE

    def __init__(self, name: str | None = None, *, algorithm: Algorithm | str, window: int, **params: Any) -> None:
        if window < 1:
            raise ModelInputError(f"window must be >= 1, got {window}")
        self.name = name or _FAMILY
        self.algorithm = Algorithm(algorithm)
        self._window = window
        self.params: dict[str, Any] = {"algorithm": self.algorithm.value, "window": window, **params}
        self._agent: Any = None
        self._scaler: FeatureScaler | None = None
        self._metadata: ModelMetadata | None = None

    @classmethod
    def from_trained(
        cls,
        agent: Any,
        scaler: FeatureScaler,
        *,
        algorithm: Algorithm | str,
        window: int,
        feature_names: Sequence[str],
        name: str | None = None,
        **params: Any,
    ) -> Self:
        """Wrap a trained SB3 ``agent`` whose observations were built with ``scaler`` over ``window`` rows."""
        policy = cls(name, algorithm=algorithm, window=window, **params)
        expected = observation_size(window, len(feature_names))
        shape = getattr(agent.observation_space, "shape", None)
        if shape != (expected,):
            raise ModelInputError(f"the agent observes shape {shape}, the policy builds ({expected},)")
        policy._agent, policy._scaler = agent, scaler
        policy._metadata = ModelMetadata(
            name=policy.name,
            family=_FAMILY,
            input_kind=InputKind.SEQUENCE,
            feature_names=tuple(feature_names),
            classes=(0, 1),
            window=window,
            params=dict(policy.params),
            library_versions={d: library_version(d) for d in ("stable-baselines3", "torch", "gymnasium")},
        )
        return policy

    # -- the protocol --------------------------------------------------------------------------------

    @property
    def window(self) -> int:
        """Feature rows one decision reads."""
        return self._window

    @property
    def metadata(self) -> ModelMetadata:
        """What this trained policy is; ``ModelInputError`` before it is trained or loaded."""
        if self._metadata is None:
            raise ModelInputError(f"{self.name} is not trained yet")
        return self._metadata

    @property
    def agent(self) -> Any:
        """The SB3 model (``PPO`` or ``DQN``)."""
        self.metadata  # noqa: B018 (raises when untrained)
        return self._agent

    @property
    def scaler(self) -> FeatureScaler:
        """The feature scaler fitted on the training window."""
        if self._scaler is None:
            raise ModelInputError(f"{self.name} is not trained yet")
        return self._scaler

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> Self:
        """Not supported: an RL agent learns from the environment's rewards, not from labels (module docstring)."""
        raise ModelInputError(
            "an RL policy is trained in the trading environment (trading-agent rl train, services.rl_training), "
            "not by fit(X, y)"
        )

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, 2)``: P(down), P(up) per raw feature window ``X`` (``(n, window, n_features)``), position flat."""
        X = check_predict_input(X, self.metadata)
        up = np.array([(1.0 + self.exposure(x, FLAT)) / 2.0 for x in X], dtype=np.float64)
        return np.column_stack([1.0 - up, up])

    def vote(self, window: np.ndarray) -> float:
        """The probability of "up" for one raw feature window (``(window, n_features)``), position flat."""
        return (1.0 + self.exposure(window, FLAT)) / 2.0

    def exposure(self, window: np.ndarray, position: PositionState = FLAT) -> float:
        """The target exposure in [-1, 1] for one raw feature window given the position (deterministic)."""
        rows = np.asarray(window, dtype=np.float32)
        expected = (self.window, len(self.metadata.feature_names))
        if rows.shape != expected:
            raise ModelInputError(f"{self.name} expects a window of shape {expected}, got {rows.shape}")
        return self.exposure_of_observation(observation(self.scaler.transform(rows), position))

    def exposure_of_observation(self, obs: np.ndarray) -> float:
        """The target exposure of one ready-made observation (scaled rows and position, see ``observation``)."""
        action, _ = self.agent.predict(obs, deterministic=True)
        return action_exposure(action, self.algorithm)

    def save(self, path: Path) -> None:
        """Write ``policy.zip`` (SB3), ``scaler.npz`` and ``metadata.json`` into directory ``path`` (created)."""
        path = Path(path)
        metadata = self.metadata
        path.mkdir(parents=True, exist_ok=True)
        self.agent.save(str(path / _POLICY_FILE))
        np.savez(path / _SCALER_FILE, mean=self.scaler.mean, scale=self.scaler.scale, clip=self.scaler.clip)
        write_metadata(path, metadata)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a policy written by ``save`` (SB3 loads on the CPU)."""
        from stable_baselines3 import DQN, PPO

        path = Path(path)
        metadata = read_policy_metadata(path)
        params = dict(metadata.params)
        algorithm, window = Algorithm(params.pop("algorithm")), int(params.pop("window"))
        policy = cls(metadata.name, algorithm=algorithm, window=window, **params)
        agent_class = DQN if algorithm.discrete else PPO
        policy._agent = agent_class.load(str(path / _POLICY_FILE), device="cpu")
        with np.load(path / _SCALER_FILE) as stored:
            policy._scaler = FeatureScaler(stored["mean"], stored["scale"], float(stored["clip"]))
        policy._metadata = metadata
        return policy

    def __repr__(self) -> str:
        return f"RLPolicy(name={self.name!r}, algorithm={self.algorithm.value}, trained={self._metadata is not None})"
