"""The RL policy as the agent's advisor: one more vote on an entry (``voter``) or its size (``sizing``).

``config/rl.yaml`` ``role`` says which (``models.rl_policy`` tells both; ``off``: no advisor). The
advisor sees every closed candle once, in order, like the source: it keeps its own streaming
features (``features.FeatureEngine`` of the feature set the policy was trained on) and the last
``policy.window`` rows of the policy's feature columns (its metadata's ``feature_names``, picked
from the engine's row by name). At each traded close ``advise`` answers:

- ``voter``: ``vote`` = the policy's probability of up (position taken as flat), journaled in the
  signal's ``model_votes`` under the advisor's name; an entry it disagrees with (vote < 0.5 for a
  long, > 0.5 for a short) is refused as ``rl_vote``. A neutral 0.5 (DQN's flat) refuses nothing.
- ``sizing``: the policy's target exposure given the real position; an entry whose sign it does
  not share (or exposure 0) is refused as ``rl_sizing``, any other is sized ``abs(exposure)`` x what
  the risk manager's sizer gives (``Decision.size_factor``).

Until the window holds ``policy.window`` rows whose features are all known, it gives no advice (no
vote, no refusal, factor 1): a row with a missing feature empties the window, as in the signal
engine. Its state (features and rows, ``save_state``) lets a restarted agent resume without a warm-up.
"""

from __future__ import annotations

import pickle
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from trading_agent.config.rl import RLRole
from trading_agent.domain import Candle
from trading_agent.features import FeatureEngine
from trading_agent.models.base import ModelInputError
from trading_agent.models.rl_policy import FLAT, PositionState, RLPolicy

__all__ = ["RL_SIZING", "RL_VOTE", "Advice", "Advisor", "RLAdvisor"]

RL_VOTE = "rl_vote"
RL_SIZING = "rl_sizing"
_STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Advice:
    """An advisor's answer at one close: its ``vote`` (P(up), None: none), entry ``size_factor``, ``refusal``."""

    vote: float | None = None
    size_factor: float = 1.0
    refusal: str | None = None


class Advisor(Protocol):
    """What the agent asks besides its source at every close (``RLAdvisor``)."""

    name: str

    def warm(self, candle: Candle) -> None:
        """Consume a candle already traded before a restart (state only, no advice)."""

    def advise(self, candle: Candle, entry: int, position: PositionState) -> Advice:
        """Consume ``candle`` and advise on ``entry`` (+1, -1, 0) given the account's ``position``."""

    def save_state(self) -> bytes:
        """The state to resume from."""

    def restore_state(self, blob: bytes) -> None:
        """Resume from ``save_state`` output (``ValueError`` when it does not fit)."""


class RLAdvisor:
    """A trained ``RLPolicy`` in its ``role`` over its own streaming features (see the module docstring).

    ``features`` must compute every feature the policy reads (else ``ModelInputError``): build it
    with the feature set and higher timeframes of the training configuration the policy was trained
    with. ``name`` (default: the policy's) keys its vote in ``model_votes``.
    """

    def __init__(
        self, policy: RLPolicy, role: RLRole | str, features: FeatureEngine, *, name: str | None = None
    ) -> None:
        self.role = RLRole(role)
        if self.role is RLRole.OFF:
            raise ModelInputError("an RL advisor needs the role voter or sizing (role off: pass no advisor)")
        wanted = policy.metadata.feature_names
        where = {column: i for i, column in enumerate(features.columns)}
        missing = [column for column in wanted if column not in where]
        if missing:
            raise ModelInputError(
                f"the RL policy {policy.name} reads features this feature engine lacks: {', '.join(missing[:5])}"
            )
        self.policy = policy
        self.name = name or policy.name
        self._features = features
        self._columns = np.array([where[column] for column in wanted], dtype=np.intp)
        self._rows: deque[np.ndarray] = deque(maxlen=policy.window)

    @property
    def ready(self) -> bool:
        """Whether the window is full, so ``advise`` answers."""
        return len(self._rows) == self.policy.window

    def warm(self, candle: Candle) -> None:
        """Advance the features and the rows without asking the policy."""
        row = np.fromiter(self._features.update(candle).values(), dtype=np.float32)[self._columns]
        if np.all(np.isfinite(row)):
            self._rows.append(row)
        else:
            self._rows.clear()

    def advise(self, candle: Candle, entry: int, position: PositionState = FLAT) -> Advice:
        """The advice at the close of ``candle`` on ``entry``; ``position`` is read by ``sizing`` only."""
        self.warm(candle)
        if not self.ready:
            return Advice()
        window = np.stack(self._rows)
        if self.role is RLRole.VOTER:
            vote = self.policy.vote(window)
            disagrees = (entry > 0 and vote < 0.5) or (entry < 0 and vote > 0.5)
            return Advice(vote=vote, refusal=RL_VOTE if disagrees else None)
        if not entry:
            return Advice()
        exposure = self.policy.exposure(window, position)
        if exposure == 0 or (exposure > 0) != (entry > 0):
            return Advice(refusal=RL_SIZING)
        return Advice(size_factor=abs(exposure))

    def save_state(self) -> bytes:
        """The streaming features' state and the recent rows."""
        state = (_STATE_VERSION, self._features.save(), list(self._rows))
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    def restore_state(self, blob: bytes) -> None:
        """Resume from ``save_state`` output (a blob this agent wrote); ``ValueError`` when it does not fit."""
        try:
            version, features_blob, rows = pickle.loads(blob)
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError) as exc:
            raise ValueError(f"unreadable RL advisor state: {exc}") from None
        if version != _STATE_VERSION:
            raise ValueError(f"saved RL advisor state version {version} does not match {_STATE_VERSION}")
        features = FeatureEngine.restore(features_blob, self._features.feature_set)
        if features.columns != self._features.columns:
            raise ValueError("the saved feature state has other columns than this advisor's: start afresh")
        width = len(self._columns)
        if any(np.shape(row) != (width,) for row in rows):
            raise ValueError(f"the saved rows are not rows of this policy's {width} features: start afresh")
        self._features = features
        self._rows = deque(rows, maxlen=self.policy.window)
