"""A gymnasium environment over the one trading engine: the RL agent trades as every strategy does.

An episode is one window of candles (``bars``) with its precomputed, already scaled feature rows
(``features``, float32, one row per candle, finite). The first ``window - 1`` candles are fed idle
so the first observation has a full window; then, at each candle's close ``t``:

1. the agent's action becomes a target exposure (``models.rl_policy.action_exposure``: DQN flat,
   long, short; PPO a value in [-1, 1]); exposure 1 is ``max_exposure`` x equity (at the close
   ``t``) long, in whole contracts at ``leverage`` (3 by default: a flip must carry the margin of the
   new side while the old one is still held);
2. the net change in contracts is a market order through ``engine.submit`` (so through the risk
   gate: limits, breakers, margin), filled at the next open with slippage and fees like every
   other decision. A change against the position is a reduce-only order for the part that
   shrinks it, then (a flip) an entry for the rest: one order of both would be judged on the
   margin of the whole size and refused. A refused order leaves the position as it was;
   ``info["rejected"]`` and ``info["reject_reason"]`` say so. With a
   continuous action, a change smaller than ``rebalance_band`` (of ``max_exposure``) is not
   traded, so the agent does not pay a fee for every wiggle of its output;
3. the engine processes candle ``t + 1`` (fills, funding, liquidation, breakers);
4. reward = ``log(equity[t+1] / equity[t]) - drawdown_penalty x max(0, dd[t+1] - dd[t])`` where
   ``dd = 1 - equity / peak`` (the peak since the episode start).

The episode terminates at the last candle, or when equity falls below ``ruin_fraction`` of the
deposit. Observations (``models.rl_policy.observation``) hold feature rows up to ``t`` and the
position state at ``t``: nothing after the close ``t`` (a test changes later candles and compares).

``rl_engine_config`` is the engine config for RL episodes: the trading rules with what a learning
agent that decides at every candle cannot live with loosened (documented there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from trading_agent.backtest.event_runner import volatility_inputs
from trading_agent.domain import (
    ClientOrderId,
    Instrument,
    Order,
    OrderIntent,
    OrderRole,
    OrderStatus,
    PositionSide,
    Side,
    Trade,
)
from trading_agent.engine import EngineConfig, TradingEngine
from trading_agent.engine.funding import FundingSeries
from trading_agent.features import Bars
from trading_agent.models.rl_policy import Algorithm, PositionState, action_exposure, observation, observation_size
from trading_agent.risk.sizing import contracts_for_notional

__all__ = ["EpisodeResult", "TradingEnv", "TradingEnvConfig", "position_state", "rl_engine_config", "run_episode"]

_UNLIMITED = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingEnvConfig:
    """How the agent's actions become orders and how it is rewarded (see the module docstring)."""

    algorithm: Algorithm = Algorithm.PPO
    window: int = 8
    drawdown_penalty: float = 1.0
    max_exposure: float = 1.0
    leverage: Decimal = Decimal(3)
    rebalance_band: float = 0.1
    ruin_fraction: float = 0.2

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", Algorithm(self.algorithm))
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")
        if not (math.isfinite(self.drawdown_penalty) and self.drawdown_penalty >= 0):
            raise ValueError(f"drawdown_penalty must be >= 0, got {self.drawdown_penalty}")
        if not 0 < self.max_exposure <= 1:
            raise ValueError(f"max_exposure must be in (0, 1], got {self.max_exposure}")
        if not 0 <= self.rebalance_band < 1:
            raise ValueError(f"rebalance_band must be in [0, 1), got {self.rebalance_band}")
        if not 0 <= self.ruin_fraction < 1:
            raise ValueError(f"ruin_fraction must be in [0, 1), got {self.ruin_fraction}")


def rl_engine_config(base: EngineConfig, max_exposure: float = 1.0) -> EngineConfig:
    """``base`` (the trading rules' engine config) loosened for an agent that may trade at every candle.

    Loosened: trades per day and the time between trades (the agent decides every candle); the
    losing-streak limit and breaker and the drawdown limit and breaker (both need a person's reset,
    and a training episode has none: one trip would freeze the rest of the episode, and the reward's
    drawdown penalty is what teaches the agent about drawdowns); the rapid-fire breaker; the
    position fraction, up to ``max_exposure``; the automatic exits (stop-loss, take-profit,
    trailing, time exit: the policy decides every candle when to be out). Kept: fees, slippage and
    the slippage guard, funding, margin and liquidation, leverage, the daily-loss limit and breaker,
    the volatility breaker.
    """
    limits = replace(
        base.limits,
        max_position_fraction=max(base.limits.max_position_fraction, max_exposure),
        max_trades_per_day=_UNLIMITED,
        min_time_between_trades_s=0,
        max_consecutive_losses=_UNLIMITED,
        max_drawdown_percent=100.0,
    )
    breakers = replace(
        base.breakers, max_consecutive_losses=_UNLIMITED, rapid_fire_max_trades=_UNLIMITED, max_drawdown_percent=100.0
    )
    exits = replace(base.exits, take_profit_enabled=False, trailing_enabled=False, time_exit_enabled=False)
    return replace(base, limits=limits, breakers=breakers, exits=exits)


class TradingEnv(gym.Env[np.ndarray, Any]):
    """One episode = ``bars`` traded through a fresh ``TradingEngine``; see the module docstring."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(
        self,
        bars: Bars,
        features: np.ndarray,
        *,
        instrument: Instrument,
        engine_config: EngineConfig,
        config: TradingEnvConfig | None = None,
        funding: FundingSeries | None = None,
    ) -> None:
        super().__init__()
        self.config = config or TradingEnvConfig()
        matrix = np.ascontiguousarray(features, dtype=np.float32)
        if matrix.ndim != 2 or len(matrix) != len(bars):
            raise ValueError(f"features must be one row per candle: {len(bars)} candles, features {matrix.shape}")
        if not np.all(np.isfinite(matrix)):
            raise ValueError("features must be finite (scale them and fill the warm-up first)")
        if len(bars) < self.config.window + 1:
            raise ValueError(f"an episode needs more than window={self.config.window} candles, got {len(bars)}")
        self._features, self._bars, self._instrument = matrix, bars, instrument
        self._engine_config, self._funding = engine_config, funding
        relative, average, _ = volatility_inputs(bars)
        self._candles = list(
            zip(
                bars.ts.tolist(),
                bars.open.tolist(),
                bars.high.tolist(),
                bars.low.tolist(),
                bars.close.tolist(),
                bars.volume.tolist(),
                relative,
                average,
                strict=True,
            )
        )
        size = observation_size(self.config.window, matrix.shape[1])
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        self.action_space: spaces.Space[Any] = (
            spaces.Discrete(3)
            if self.config.algorithm.discrete
            else spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        )
        self._engine = self._new_engine()
        self._feed = self._engine.feed(instrument.id)
        self._t = self.config.window - 1
        self._equity = self._peak = float(engine_config.initial_balance)

    # -- gymnasium -----------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """A fresh engine fed the first ``window`` candles idle; the first observation is at their last close."""
        super().reset(seed=seed)
        self._engine = self._new_engine()
        self._feed = self._engine.feed(self._instrument.id)
        for i in range(self.config.window):
            self._feed(*self._candles[i])
            self._engine.commit(checkpoint=False)
        self._t = self.config.window - 1
        self._equity = self._peak = float(self._engine.portfolio_state().equity)
        return self._observation(), self._info(rejected=False, reason=None, ordered=0)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Order the change to the action's exposure at the close ``t``, process candle ``t + 1``, reward."""
        target = action_exposure(action, self.config.algorithm)
        rejected, reason, ordered = self._rebalance(target)
        self._t += 1
        self._feed(*self._candles[self._t])
        self._engine.commit(checkpoint=False)
        before, drawdown_before = self._equity, self.drawdown
        self._equity = max(float(self._engine.portfolio_state().equity), 1e-9)
        self._peak = max(self._peak, self._equity)
        increase = max(0.0, self.drawdown - drawdown_before)
        reward = math.log(self._equity / before) - self.config.drawdown_penalty * increase
        ruined = self._equity < self.config.ruin_fraction * float(self._engine_config.initial_balance)
        terminated = self._t >= len(self._candles) - 1 or ruined
        return self._observation(), reward, terminated, False, self._info(rejected, reason, ordered)

    # -- what an evaluation reads --------------------------------------------------------------------

    @property
    def engine(self) -> TradingEngine:
        """The engine of the current episode."""
        return self._engine

    @property
    def equity(self) -> float:
        """Equity at the last close processed."""
        return self._equity

    @property
    def drawdown(self) -> float:
        """``1 - equity / peak`` since the episode start."""
        return 1.0 - self._equity / self._peak

    @property
    def position_state(self) -> PositionState:
        """Exposure, open PnL and drawdown at the last close, as fractions of equity."""
        return position_state(self._engine, self._instrument, self._candles[self._t][4], drawdown=self.drawdown)

    # -- helpers -------------------------------------------------------------------------------------

    def _new_engine(self) -> TradingEngine:
        funding = {self._instrument.id: self._funding} if self._funding is not None else None
        return TradingEngine(self._engine_config, [self._instrument], funding=funding)

    def _observation(self) -> np.ndarray:
        rows = self._features[self._t - self.config.window + 1 : self._t + 1]
        return observation(rows, self.position_state)

    def _held(self) -> int:
        return _signed_contracts(self._engine, self._instrument)

    def _contracts(self, exposure: float, equity: Decimal, price: Decimal) -> int:
        notional = equity * Decimal(repr(abs(exposure) * self.config.max_exposure))
        return contracts_for_notional(notional, self._instrument, price) if notional > 0 else 0

    def _rebalance(self, target: float) -> tuple[bool, str | None, int]:
        """Submit the order from the position held to ``target``; (rejected, reason, orders submitted)."""
        ts, close = self._candles[self._t][0], self._candles[self._t][4]
        equity, price = self._engine.portfolio_state().equity, Decimal(repr(close))
        held = self._held()
        wanted = int(math.copysign(self._contracts(target, equity, price), target))
        delta = wanted - held
        if delta == 0:
            return False, None, 0
        band = self._contracts(self.config.rebalance_band, equity, price) if not self.config.algorithm.discrete else 0
        if wanted != 0 and abs(delta) < band:
            return False, None, 0
        for order in self._engine.open_orders(self._instrument.id):  # a fill refused last candle: replaced
            self._engine.cancel(order.id, "replaced by the policy's next target")
        if held != 0 and (delta > 0) != (held > 0):  # against the position: first the reduce-only part
            closing = min(abs(delta), abs(held))
            order = self._submit(closing, buy=delta > 0, reduce_only=True, ts=ts)
            if order.status is OrderStatus.REJECTED:
                return True, order.reject_reason, 1
            if abs(delta) == closing:
                return False, None, 1
            order = self._submit(abs(delta) - closing, buy=delta > 0, reduce_only=False, ts=ts)
            rejected = order.status is OrderStatus.REJECTED
            return rejected, order.reject_reason if rejected else None, 2
        order = self._submit(abs(delta), buy=delta > 0, reduce_only=False, ts=ts)
        if order.status is OrderStatus.REJECTED:
            return True, order.reject_reason, 1
        return False, None, 1

    def _submit(self, contracts: int, *, buy: bool, reduce_only: bool, ts: int) -> Order:
        intent = OrderIntent(
            instrument=self._instrument.id,
            side=Side.BUY if buy else Side.SELL,
            contracts=contracts,
            reduce_only=reduce_only,
            role=OrderRole.EXIT if reduce_only else OrderRole.ENTRY,
            leverage=self.config.leverage,
            client_order_id=ClientOrderId(f"rl-{ts}-{'x' if reduce_only else 'e'}"),
        )
        return self._engine.submit(intent)

    def _info(self, rejected: bool, reason: str | None, ordered: int) -> dict[str, Any]:
        return {
            "ts": self._candles[self._t][0],
            "equity": self._equity,
            "drawdown": self.drawdown,
            "contracts": self._held(),
            "orders": ordered,
            "rejected": rejected,
            "reject_reason": reason,
        }


def position_state(
    engine: TradingEngine, instrument: Instrument, close: float, *, drawdown: float | None = None
) -> PositionState:
    """What the policy observes of ``engine``'s account at the close ``close``: exposure, open PnL, drawdown.

    ``exposure`` is the signed position value (contracts x contract value x ``close``) / equity,
    ``unrealized_return`` the open PnL / equity; ``drawdown`` is ``1 - equity / peak``, of the
    engine's own equity peak unless given (an episode measures it from its start). Zero exposure and
    open PnL when equity is not positive. The environment observes exactly this; so does the agent.
    """
    state = engine.portfolio_state()
    if drawdown is None:
        drawdown = float(state.drawdown)
    equity = float(state.equity)
    if equity <= 0:
        return PositionState(0.0, 0.0, drawdown)
    value = _signed_contracts(engine, instrument) * float(instrument.contract_value) * close
    return PositionState(value / equity, float(state.unrealized_pnl) / equity, drawdown)


def _signed_contracts(engine: TradingEngine, instrument: Instrument) -> int:
    position = engine.position(instrument.id)
    if position is None:
        return 0
    return position.contracts if position.side is PositionSide.LONG else -position.contracts


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """One episode played to its end: equity at each decision close and after the last, trades, refusals."""

    equity: np.ndarray
    exposure: np.ndarray
    contracts: np.ndarray
    trades: tuple[Trade, ...]
    rejected: int
    orders: int
    rewards: np.ndarray = field(repr=False)


def run_episode(env: TradingEnv, act: Callable[[np.ndarray], Any], *, seed: int | None = None) -> EpisodeResult:
    """Play one episode with ``act(observation) -> action`` (e.g. a trained agent's deterministic predict).

    ``equity`` and ``contracts`` (signed, held) have one value per close from the first decision close to the
    last candle; ``exposure`` one target per decision.
    """
    obs, info = env.reset(seed=seed)
    equity, contracts, exposure, rewards = [info["equity"]], [info["contracts"]], [], []
    rejected = orders = 0
    done = False
    while not done:
        action = act(obs)
        exposure.append(action_exposure(action, env.config.algorithm))
        obs, reward, terminated, truncated, info = env.step(action)
        equity.append(info["equity"])
        contracts.append(info["contracts"])
        rewards.append(reward)
        rejected += info["rejected"]
        orders += info["orders"]
        done = terminated or truncated
    return EpisodeResult(
        np.asarray(equity),
        np.asarray(exposure),
        np.asarray(contracts),
        env.engine.trades,
        rejected,
        orders,
        np.asarray(rewards),
    )
