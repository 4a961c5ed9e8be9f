"""Built-in strategies as signals: what to do at each candle's close, computed over the whole history at once.

A strategy maps candles (``features.Bars``) to ``Signals``: per candle, ``+1`` go long, ``-1`` go
short (an entry against the position reverses it), ``0`` do nothing, and an exit flag (close the
position). Each value uses only candles up to and including its own (tested by truncation), and is
acted on at the next candle's open, by the event engine and the vectorised backtester alike; the
same signals drive both. Stops, targets, trailing and time exits come from the trading rules, not
from the strategy.

- ``buy-hold``: long from the first candle to the last, all equity at 1x, no exits: the yardstick,
  run outside the risk limits (see ``event_runner``).
- ``sma-cross`` (``fast``, ``slow``): long when the fast SMA crosses above the slow one, short when
  it crosses below.
- ``rsi-reversion`` (``period``, ``lower``, ``upper``): long when RSI crosses back above ``lower``,
  short when it crosses back below ``upper``, flat when it crosses 50 against the position.

``replay_strategy`` wraps signals computed elsewhere (a model's predictions) keyed by candle open
time, so a model trades through the same engines and costs as the built-in rules; with the model's
anomaly scores (``AnomalyScores``), the event engine's anomaly filter halves or blocks entries on
flagged candles as in paper trading (the vectorised backtester does not model it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import talib

from trading_agent.domain import TradingAgentError
from trading_agent.features import Bars

__all__ = [
    "STRATEGIES",
    "AnomalyScores",
    "Signals",
    "Strategy",
    "StrategyError",
    "make_strategy",
    "replay_strategy",
]


class StrategyError(TradingAgentError, ValueError):
    """An unknown strategy or parameter, or parameters that make no sense together."""


@dataclass(frozen=True, slots=True)
class AnomalyScores:
    """The anomaly detector's ``scores`` per candle (NaN: not scored) and its ``threshold``."""

    scores: np.ndarray
    threshold: float


@dataclass(frozen=True, slots=True)
class Signals:
    """Per candle: ``entries`` (int8: +1 long, -1 short, 0 none) and ``exits`` (bool), decided at its close.

    ``anomaly``: the anomaly scores of the same candles, when the strategy has a detector;
    ``confidence``: a model's calibrated confidence per candle (NaN: none), for the signal filters.
    """

    entries: np.ndarray
    exits: np.ndarray
    anomaly: AnomalyScores | None = None
    confidence: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.entries.shape != self.exits.shape or self.entries.ndim != 1:
            raise StrategyError(f"entries {self.entries.shape} and exits {self.exits.shape} must be 1-D and aligned")
        if self.anomaly is not None and self.anomaly.scores.shape != self.entries.shape:
            raise StrategyError(f"anomaly scores {self.anomaly.scores.shape} must align with {self.entries.shape}")
        if self.confidence is not None and self.confidence.shape != self.entries.shape:
            raise StrategyError(f"confidences {self.confidence.shape} must align with {self.entries.shape}")


@dataclass(frozen=True, slots=True)
class Strategy:
    """A named rule: ``warmup`` candles before its first signal, ``signals(bars)`` for all of them."""

    name: str
    params: Mapping[str, float]
    warmup: int
    rule: Callable[[Bars], Signals]
    all_in: bool = False  # buy-hold: all equity at 1x, outside the risk limits

    def signals(self, bars: Bars) -> Signals:
        """The signals over ``bars``; raises ``StrategyError`` when there are too few candles for the warm-up."""
        if len(bars) <= self.warmup:
            raise StrategyError(f"{self.name} needs more than {self.warmup} candles for its warm-up, got {len(bars)}")
        return self.rule(bars)


def _crossings(above: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """+1 where ``above`` turns true, -1 where it turns false, 0 elsewhere (both candles valid)."""
    turns = np.zeros(len(above), dtype=np.int8)
    changed = (above[1:] != above[:-1]) & valid[1:] & valid[:-1]
    turns[1:][changed] = np.where(above[1:][changed], 1, -1)
    return turns


def _buy_hold(bars: Bars) -> Signals:
    entries = np.zeros(len(bars), dtype=np.int8)
    entries[0] = 1
    return Signals(entries, np.zeros(len(bars), dtype=bool))


def _sma_cross(fast: int, slow: int) -> Callable[[Bars], Signals]:
    def rule(bars: Bars) -> Signals:
        fast_sma, slow_sma = talib.SMA(bars.close, fast), talib.SMA(bars.close, slow)
        valid = ~np.isnan(slow_sma)
        entries = _crossings(np.nan_to_num(fast_sma - slow_sma) > 0, valid)
        return Signals(entries, np.zeros(len(bars), dtype=bool))

    return rule


def _rsi_reversion(period: int, lower: float, upper: float) -> Callable[[Bars], Signals]:
    def rule(bars: Bars) -> Signals:
        rsi = talib.RSI(bars.close, period)
        valid = ~np.isnan(rsi)
        rsi = np.nan_to_num(rsi, nan=50.0)
        above_lower, above_upper, above_mid = rsi > lower, rsi > upper, rsi > 50.0
        entries = np.where(_crossings(above_lower, valid) > 0, 1, 0) + np.where(
            _crossings(above_upper, valid) < 0, -1, 0
        )
        exits = _crossings(above_mid, valid) != 0
        return Signals(entries.astype(np.int8), exits)

    return rule


def _int(params: Mapping[str, Any], name: str, default: int, *, low: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < low:
        raise StrategyError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def _level(params: Mapping[str, Any], name: str, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 100:
        raise StrategyError(f"{name} must be between 0 and 100, got {value!r}")
    return float(value)


def _make_buy_hold(params: Mapping[str, Any]) -> Strategy:
    return Strategy("buy-hold", {}, 0, _buy_hold, all_in=True)


def _make_sma_cross(params: Mapping[str, Any]) -> Strategy:
    fast, slow = _int(params, "fast", 20, low=1), _int(params, "slow", 50, low=2)
    if fast >= slow:
        raise StrategyError(f"sma-cross: fast ({fast}) must be shorter than slow ({slow})")
    return Strategy("sma-cross", {"fast": fast, "slow": slow}, slow, _sma_cross(fast, slow))


def _make_rsi_reversion(params: Mapping[str, Any]) -> Strategy:
    period = _int(params, "period", 14, low=2)
    lower, upper = _level(params, "lower", 30.0), _level(params, "upper", 70.0)
    if not lower < 50 < upper:
        raise StrategyError(f"rsi-reversion: need lower < 50 < upper, got lower {lower}, upper {upper}")
    return Strategy(
        "rsi-reversion",
        {"period": period, "lower": lower, "upper": upper},
        period,
        _rsi_reversion(period, lower, upper),
    )


STRATEGIES: Mapping[str, tuple[Callable[[Mapping[str, Any]], Strategy], frozenset[str]]] = {
    "buy-hold": (_make_buy_hold, frozenset()),
    "sma-cross": (_make_sma_cross, frozenset({"fast", "slow"})),
    "rsi-reversion": (_make_rsi_reversion, frozenset({"period", "lower", "upper"})),
}
"""Strategy name to (factory, accepted parameter names)."""


def make_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """The built-in strategy ``name`` with ``params``; an unknown name or parameter raises ``StrategyError``."""
    entry = STRATEGIES.get(name)
    if entry is None:
        raise StrategyError(f"unknown strategy {name!r}: choose from {', '.join(STRATEGIES)}")
    factory, accepted = entry
    given = dict(params or {})
    unknown = sorted(set(given) - accepted)
    if unknown:
        allowed = ", ".join(sorted(accepted)) or "none"
        raise StrategyError(f"{name}: unknown parameter(s) {', '.join(unknown)} (accepted: {allowed})")
    return factory(given)


def replay_strategy(
    name: str,
    open_ms: np.ndarray,
    entries: np.ndarray,
    anomaly: AnomalyScores | None = None,
    confidence: np.ndarray | None = None,
) -> Strategy:
    """A strategy entering ``entries[i]`` (+1, -1 or 0) at the close of the candle that opened at ``open_ms[i]``.

    Candles without an entry do nothing; exits come from the trading rules (stops, targets, time).
    ``anomaly.scores[i]`` is the anomaly score of the same candle, ``confidence[i]`` the model's
    confidence in it.
    """
    times, wanted = np.asarray(open_ms, dtype=np.int64), np.asarray(entries, dtype=np.int8)
    if times.shape != wanted.shape or times.ndim != 1 or times.size == 0 or np.any(np.diff(times) <= 0):
        raise StrategyError("replayed entries need at least one, each at a strictly later open time")
    if anomaly is not None and anomaly.scores.shape != times.shape:
        raise StrategyError(f"anomaly scores {anomaly.scores.shape} must align with the entries {times.shape}")
    if confidence is not None and np.shape(confidence) != times.shape:
        raise StrategyError(f"confidences {np.shape(confidence)} must align with the entries {times.shape}")

    def rule(bars: Bars) -> Signals:
        at = np.minimum(np.searchsorted(times, bars.ts), len(times) - 1)
        found = times[at] == bars.ts
        signal = np.where(found, wanted[at], 0).astype(np.int8)
        scores = None
        if anomaly is not None:
            scores = AnomalyScores(np.where(found, anomaly.scores[at], np.nan), anomaly.threshold)
        known = None if confidence is None else np.where(found, np.asarray(confidence, dtype=np.float64)[at], np.nan)
        return Signals(signal, np.zeros(len(bars), dtype=bool), scores, known)

    return Strategy(name, {}, 0, rule)
