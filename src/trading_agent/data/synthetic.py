"""A seeded synthetic crypto market, for ``make run`` and tests when no real data is at hand.

The model, per bar ``t`` (all numpy, vectorised; a million candles take well under a second):

* a hidden regime (bull / bear / sideways) follows a Markov chain: it lasts a geometric number of
  bars with mean ``mean_regime_days``, then jumps to one of the other regimes at random; each
  regime has its own drift and volatility multiplier;
* volatility clusters: GARCH(1,1) variance ``h[t] = ω + α·h[t-1]·z[t-1]² + β·h[t-1]`` with
  unconditional level ``annual_volatility² · bar length in years`` (so volatility scales with the
  square root of the bar length);
* fat tails: ``z`` are Student-t innovations scaled to unit variance;
* log return ``r[t] = drift[regime] + vol_multiplier[regime] · √h[t] · z[t]``; close is the
  compounded start price, open is the previous close, wicks are exponential with a mean
  proportional to the bar's volatility, so ``high ≥ max(open, close)`` and ``low ≤ min(open,
  close)`` always hold and prices stay positive;
* volume is lognormal and rises with the bar's volatility and with ``|z|``.

The GARCH recursion is linear in ``h`` once the innovations are drawn
(``h[t] = ω + a[t]·h[t-1]`` with ``a[t] = α·z[t-1]² + β``), so it is solved block by block with
cumulative products instead of a Python loop over bars.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from trading_agent.data.frames import frame_from_arrays
from trading_agent.domain import Timeframe

__all__ = ["MarketParams", "Regime", "RegimeParams", "SyntheticMarket", "SyntheticSample"]

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_YEAR_MS = 365.25 * _DAY_MS
_DEFAULT_START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a Monday
_GARCH_MAX_BLOCK = 512
_GARCH_LOG_RANGE = 500.0  # keeps products of a[t] >= beta**block inside float64 range


class Regime(StrEnum):
    """The hidden market state of a bar."""

    BULL = "bull"
    BEAR = "bear"
    SIDEWAYS = "sideways"


@dataclass(frozen=True, slots=True)
class RegimeParams:
    """A regime's annual log drift and its multiplier on the GARCH volatility."""

    regime: Regime
    annual_drift: float
    vol_multiplier: float


_DEFAULT_REGIMES = (
    RegimeParams(Regime.BULL, annual_drift=0.8, vol_multiplier=0.9),
    RegimeParams(Regime.BEAR, annual_drift=-0.8, vol_multiplier=1.3),
    RegimeParams(Regime.SIDEWAYS, annual_drift=0.0, vol_multiplier=0.7),
)

# GARCH(1,1) reaction (alpha) and decay (beta) per bar: typical of published crypto fits, with
# faster decay per bar the longer the bar.
_GARCH_BY_TIMEFRAME: dict[Timeframe, tuple[float, float]] = {
    Timeframe.M1: (0.05, 0.94),
    Timeframe.M3: (0.05, 0.94),
    Timeframe.M5: (0.05, 0.94),
    Timeframe.M15: (0.06, 0.93),
    Timeframe.M30: (0.06, 0.93),
    Timeframe.H1: (0.08, 0.90),
    Timeframe.H2: (0.08, 0.90),
    Timeframe.H4: (0.09, 0.88),
    Timeframe.H6: (0.09, 0.88),
    Timeframe.D1: (0.10, 0.85),
    Timeframe.D3: (0.12, 0.75),
    Timeframe.W1: (0.12, 0.75),
}


@dataclass(frozen=True, slots=True)
class MarketParams:
    """Parameters of the synthetic market; calendar-time figures are scaled to the bar length.

    ``garch_alpha``/``garch_beta`` are per bar: ``for_timeframe`` picks defaults per timeframe.
    ``tail_dof`` is the Student-t degrees of freedom (lower means fatter tails; must exceed 2).
    ``hourly_volume`` is the median volume of an hour of calm trading, in base-asset units.
    """

    annual_volatility: float = 0.65
    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    tail_dof: float = 5.0
    regimes: tuple[RegimeParams, ...] = _DEFAULT_REGIMES
    mean_regime_days: float = 30.0
    wick_scale: float = 0.5
    hourly_volume: float = 1_000.0
    volume_sigma: float = 0.35
    volume_vol_elasticity: float = 1.0
    volume_surprise_beta: float = 0.35

    def __post_init__(self) -> None:
        problems = []
        if self.annual_volatility <= 0:
            problems.append("annual_volatility must be positive")
        if self.garch_alpha < 0 or self.garch_beta <= 0 or self.garch_alpha + self.garch_beta >= 1:
            problems.append("GARCH needs alpha >= 0, beta > 0 and alpha + beta < 1")
        if self.tail_dof <= 2:
            problems.append("tail_dof must exceed 2 (finite variance)")
        if not self.regimes:
            problems.append("at least one regime is needed")
        if any(r.vol_multiplier <= 0 for r in self.regimes):
            problems.append("regime vol multipliers must be positive")
        if self.mean_regime_days <= 0 or self.wick_scale < 0 or self.hourly_volume <= 0 or self.volume_sigma < 0:
            problems.append("mean_regime_days and hourly_volume must be positive, wick_scale and volume_sigma >= 0")
        if problems:
            raise ValueError("invalid MarketParams: " + "; ".join(problems))

    @classmethod
    def for_timeframe(cls, timeframe: Timeframe, **overrides: Any) -> MarketParams:
        """Defaults for ``timeframe`` (its GARCH alpha and beta), with ``overrides`` applied."""
        alpha, beta = _GARCH_BY_TIMEFRAME[timeframe]
        return replace(cls(garch_alpha=alpha, garch_beta=beta), **overrides)


@dataclass(frozen=True, slots=True)
class SyntheticSample:
    """Generated candles and the hidden regime of each (a categorical Series on the same index)."""

    candles: pd.DataFrame
    regimes: pd.Series


class SyntheticMarket:
    """A reproducible synthetic market: the same arguments give the same candles, call after call.

    ``start_ms`` is the first open time and must be on the ``timeframe`` grid (default: the first
    bucket at or after 2024-01-01 00:00 UTC); ``params`` default to
    ``MarketParams.for_timeframe(timeframe)``.
    """

    def __init__(
        self,
        seed: int,
        timeframe: Timeframe = Timeframe.H1,
        start_ms: int | None = None,
        start_price: float = 30_000.0,
        params: MarketParams | None = None,
    ) -> None:
        if start_ms is None:
            start_ms = timeframe.bucket_start(_DEFAULT_START_MS + timeframe.ms - 1)
        if not timeframe.is_aligned(start_ms):
            raise ValueError(f"start_ms {start_ms} is not the open time of a {timeframe} candle")
        if not start_price > 0:
            raise ValueError(f"start_price must be positive, got {start_price}")
        self.seed = seed
        self.timeframe = timeframe
        self.start_ms = start_ms
        self.start_price = float(start_price)
        self.params = params if params is not None else MarketParams.for_timeframe(timeframe)

    def generate(self, n_candles: int) -> pd.DataFrame:
        """``n_candles`` consecutive candles as a candle frame (no gaps, on the grid)."""
        return self.generate_labelled(n_candles).candles

    def generate_labelled(self, n_candles: int) -> SyntheticSample:
        """Candles plus the regime that generated each one."""
        if n_candles < 0:
            raise ValueError(f"n_candles must be >= 0, got {n_candles}")
        p = self.params
        rng = np.random.default_rng(self.seed)
        bar_ms = self.timeframe.ms
        bar_sigma = p.annual_volatility * np.sqrt(bar_ms / _YEAR_MS)
        states = _regime_path(rng, n_candles, len(p.regimes), bar_ms / (p.mean_regime_days * _DAY_MS))
        drift = np.array([r.annual_drift * bar_ms / _YEAR_MS for r in p.regimes])[states]
        vol_multiplier = np.array([r.vol_multiplier for r in p.regimes])[states]
        z = rng.standard_t(p.tail_dof, n_candles) * np.sqrt((p.tail_dof - 2) / p.tail_dof)
        sigma = np.sqrt(_garch_variance(z, p.garch_alpha, p.garch_beta, bar_sigma**2)) * vol_multiplier
        close = self.start_price * np.exp(np.cumsum(drift + sigma * z))
        open_ = np.concatenate(([self.start_price], close[:-1]))
        high = np.maximum(open_, close) * np.exp(rng.exponential(p.wick_scale * sigma))
        low = np.minimum(open_, close) * np.exp(-rng.exponential(p.wick_scale * sigma))
        log_volume = (
            np.log(p.hourly_volume * bar_ms / _HOUR_MS)
            + p.volume_vol_elasticity * np.log(sigma / bar_sigma)
            + p.volume_surprise_beta * np.abs(z)
            + p.volume_sigma * rng.standard_normal(n_candles)
        )
        ts = self.start_ms + bar_ms * np.arange(n_candles, dtype="int64")
        candles = frame_from_arrays(
            ts, {"open": open_, "high": high, "low": low, "close": close, "volume": np.exp(log_volume)}
        )
        labels = pd.Categorical.from_codes(states, categories=pd.Index([r.regime.value for r in p.regimes]))
        return SyntheticSample(candles, pd.Series(labels, index=candles.index, name="regime"))


def _regime_path(rng: np.random.Generator, n: int, n_regimes: int, switch_rate: float) -> np.ndarray:
    leave_probability = float(-np.expm1(-switch_rate)) if n_regimes > 1 else 0.0
    if n == 0 or leave_probability == 0.0:
        return np.full(n, rng.integers(n_regimes), dtype="int64")
    lengths = np.empty(0, dtype="int64")
    while lengths.sum() < n:
        expected = int(n * leave_probability * 1.2) + 16
        lengths = np.concatenate((lengths, rng.geometric(leave_probability, expected)))
    stays = np.searchsorted(np.cumsum(lengths), n) + 1
    hops = rng.integers(1, n_regimes, stays - 1)
    states = (rng.integers(n_regimes) + np.concatenate(([0], np.cumsum(hops)))) % n_regimes
    return np.repeat(states, lengths[:stays])[:n]


def _garch_variance(z: np.ndarray, alpha: float, beta: float, unconditional: float) -> np.ndarray:
    n = len(z)
    omega = unconditional * (1 - alpha - beta)
    h = np.full(n, unconditional)
    if n < 2:
        return h
    a = alpha * z[:-1] ** 2 + beta  # h[t] = omega + a[t-1] * h[t-1] for t >= 1
    block = int(min(_GARCH_MAX_BLOCK, max(8.0, _GARCH_LOG_RANGE / -np.log(beta))))
    blocks = -(-len(a) // block)
    padded = np.ones(blocks * block)
    padded[: len(a)] = a
    growth = np.cumprod(padded.reshape(blocks, block), axis=1)  # products of a within a block
    forced = growth * np.cumsum(omega / growth, axis=1)  # the block's h when it starts from h = 0
    starts = np.empty(blocks)
    carry = unconditional
    for b in range(blocks):
        starts[b] = carry
        carry = growth[b, -1] * carry + forced[b, -1]
    h[1:] = (growth * starts[:, None] + forced).reshape(-1)[: len(a)]
    return h
