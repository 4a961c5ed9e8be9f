"""Dynamic exits (the blueprint's DynamicExitStrategy): stop distance, bracket prices, trailing and time exits.

Pure functions, no state; the stateful engine calls them on every candle. Prices are ``Decimal``
and every price returned is on the instrument's tick grid (an entry may be off it: an averaged
entry); multipliers and percents are floats (``2`` = 2%) turned into ``Decimal`` with
``Decimal(repr(x))``. The rules:

- **Stop distance** (``stop_distance``), measured at decision time: ``atr_multiplier x ATR`` or
  ``volatility_multiplier x sigma x price`` with sigma the per-candle standard deviation of simple
  returns. ``None`` when the input is missing or unusable: no stop can be measured, and the caller
  decides what that means (refuse the entry, say).
- **Brackets** (``bracket_prices``), placed around the actual fill price: the stop ``distance``
  away on the losing side, the target ``risk_reward x distance`` away on the winning side, both on
  the nearest tick but at least one tick from the entry and never at or below zero.
- **Trailing stop** (``trailing_stop``): once the favourable extreme (high for a long, low for a
  short) has moved ``trailing_activation_percent`` from the entry, the stop trails
  ``trailing_percent`` behind that extreme, rounded away from the price (floor for a long,
  ceiling for a short). It only ever tightens. ``trailing_trigger`` is the price the extreme must
  reach before it can tighten, for the engine's fast path.
- **Time exit** (``time_exit_deadline``): close at or after ``max_holding_period_s`` from the open.

Trap (intrabar order): a candle's high and low come in an unknown order, so a trailing stop
computed from a candle's extreme must only be tested against the following candles; testing it
against the same candle's low would assume the high came first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import TypeGuard

from trading_agent.domain import Instrument, PositionSide
from trading_agent.engine.errors import EngineError

__all__ = [
    "ExitRules",
    "StopMethod",
    "bracket_prices",
    "stop_distance",
    "time_exit_deadline",
    "trailing_stop",
    "trailing_trigger",
]

_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_MS_PER_S = 1000
# trailing_trigger fires this fraction early, so Decimal and float rounding can never make it late.
_TRIGGER_EARLY = 1e-9


class StopMethod(StrEnum):
    """How the stop-loss distance is measured."""

    ATR = "atr"
    VOLATILITY = "volatility"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitRules:
    """Exit parameters; names follow ``risk_management`` and ``exits`` in ``config/trading_rules.yaml``.

    ``stop_method`` accepts the plain strings ``"atr"``/``"volatility"`` (stored as ``StopMethod``).
    Multipliers and ``risk_reward`` must be positive; ``trailing_activation_percent`` >= 0 (0 trails
    from the entry); ``trailing_percent`` in (0, 100); ``max_holding_period_s`` >= 1. The checks
    apply even to a disabled feature, so enabling it later cannot produce an invalid rule.
    """

    stop_method: StopMethod = StopMethod.ATR
    atr_multiplier: float = 2.0
    volatility_multiplier: float = 2.0
    take_profit_enabled: bool = True
    risk_reward: float = 2.0
    trailing_enabled: bool = True
    trailing_activation_percent: float = 2.0
    trailing_percent: float = 1.0
    time_exit_enabled: bool = True
    max_holding_period_s: int = 24 * 3600

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "stop_method", StopMethod(self.stop_method))
        except ValueError:
            allowed = ", ".join(m.value for m in StopMethod)
            raise EngineError(f"stop_method must be one of {allowed}, got {self.stop_method!r}") from None
        for name in ("atr_multiplier", "volatility_multiplier", "risk_reward"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise EngineError(f"{name} must be finite and positive, got {value}")
        activation = self.trailing_activation_percent
        if not (math.isfinite(activation) and activation >= 0):
            raise EngineError(f"trailing_activation_percent must be finite and >= 0, got {activation}")
        if not (math.isfinite(self.trailing_percent) and 0 < self.trailing_percent < 100):
            raise EngineError(f"trailing_percent must be in (0, 100), got {self.trailing_percent}")
        if self.max_holding_period_s < 1:
            raise EngineError(f"max_holding_period_s must be at least 1, got {self.max_holding_period_s}")

    @property
    def target_risk_reward(self) -> float | None:
        """``risk_reward`` when take profit is enabled, else ``None``: pass it to ``bracket_prices``."""
        return self.risk_reward if self.take_profit_enabled else None


def _usable(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value) and value > 0


def stop_distance(
    rules: ExitRules, price: float, *, atr: float | None = None, volatility: float | None = None
) -> Decimal | None:
    """The stop-loss distance (a price difference, not rounded to the tick) by ``rules.stop_method``.

    ATR: ``atr_multiplier x atr`` (``price`` is ignored). VOLATILITY: ``volatility_multiplier x
    volatility x price``, where ``volatility`` is the per-candle standard deviation of simple
    returns at the engine's timeframe (not annualised, not in percent). ``None`` when the input the
    method needs (and, for VOLATILITY, ``price``) is missing, NaN, infinite or <= 0, or when the
    product is not a finite positive number. Trap: both inputs must be known at decision time,
    i.e. computed from closed candles only. The float result becomes ``Decimal(repr(x))``.
    """
    if rules.stop_method is StopMethod.ATR:
        if not _usable(atr):
            return None
        distance = rules.atr_multiplier * atr
    else:
        if not (_usable(volatility) and _usable(price)):
            return None
        distance = rules.volatility_multiplier * volatility * price
    return Decimal(repr(distance)) if _usable(distance) else None


def _check_price(name: str, value: Decimal) -> None:
    if not (value.is_finite() and value > 0):
        raise EngineError(f"{name} must be finite and positive, got {value}")


def _beyond_entry(price: Decimal, entry: Decimal, upward: bool, instrument: Instrument) -> Decimal:
    """``price`` on the nearest tick, at least one tick from ``entry`` (above it when ``upward``), >= one tick."""
    tick = instrument.tick_size
    nearest = instrument.round_price(price)
    if upward:
        return max(nearest, instrument.round_price(entry + tick, ROUND_CEILING))
    return max(min(nearest, instrument.round_price(entry - tick, ROUND_FLOOR)), tick)


def bracket_prices(
    side: PositionSide,
    entry: Decimal,
    distance: Decimal,
    instrument: Instrument,
    *,
    risk_reward: float | None,
) -> tuple[Decimal, Decimal | None]:
    """The (stop-loss, take-profit) prices of a position entered at ``entry``.

    Long: stop ``entry - distance``, target ``entry + distance x risk_reward``; a short mirrors
    them. ``risk_reward=None`` means no target (pass ``ExitRules.target_risk_reward``). Rounding:
    each price goes to the nearest tick (``Instrument.round_price``, ties to even), then is pushed
    out to the first tick at least one full tick from the entry, so a distance under a tick still
    gives a real bracket (``entry`` itself may be off the grid, e.g. an averaged entry). A price
    that would fall to zero or below (a long's stop, a short's target) is clamped to one tick, the
    smallest positive price; then, for an entry under two ticks, it is less than a tick from the
    entry but still on the right side. Raises ``EngineError`` for a non-positive ``distance`` or
    ``risk_reward``, or an entry not above one tick (no positive price lies below it on the grid).
    """
    _check_price("entry", entry)
    _check_price("distance", distance)
    if entry <= instrument.tick_size:
        raise EngineError(f"entry must be above one tick ({instrument.tick_size}), got {entry}")
    if risk_reward is not None and not (math.isfinite(risk_reward) and risk_reward > 0):
        raise EngineError(f"risk_reward must be finite and positive (or None), got {risk_reward}")
    long = side is PositionSide.LONG
    sign = 1 if long else -1
    stop = _beyond_entry(entry - sign * distance, entry, not long, instrument)
    if risk_reward is None:
        return stop, None
    reach = distance * Decimal(repr(risk_reward))
    return stop, _beyond_entry(entry + sign * reach, entry, long, instrument)


def _fraction(percent: float) -> Decimal:
    return Decimal(repr(percent)) / _HUNDRED


def _activation_price(side: PositionSide, entry: Decimal, rules: ExitRules) -> Decimal:
    move = _fraction(rules.trailing_activation_percent)
    return entry * (_ONE + move) if side is PositionSide.LONG else entry * (_ONE - move)


def _trail_factor(side: PositionSide, rules: ExitRules) -> Decimal:
    trail = _fraction(rules.trailing_percent)
    return _ONE - trail if side is PositionSide.LONG else _ONE + trail


def trailing_stop(  # noqa: PLR0917 (the signature the engine calls)
    side: PositionSide,
    entry: Decimal,
    current_stop: Decimal | None,
    extreme: Decimal,
    rules: ExitRules,
    instrument: Instrument,
) -> Decimal | None:
    """The tightened stop after a candle whose favourable extreme is ``extreme``, or ``None``.

    ``extreme`` is the candle's high for a long, its low for a short. Trailing is active once the
    extreme reaches ``entry x (1 + trailing_activation_percent/100)`` (long; ``x (1 - ...)`` for a
    short). The candidate stop is ``extreme x (1 - trailing_percent/100)`` floored to the tick for
    a long, ``extreme x (1 + trailing_percent/100)`` ceiled to the tick for a short: rounded away
    from the price, so the trail is never narrower than stated. The candidate is returned only
    when strictly tighter than ``current_stop`` (higher for a long, lower for a short; anything
    beats ``None``): a trailing stop never loosens. ``None`` too when trailing is disabled, not yet
    active, or a long's candidate floors to zero (a stop at 0 protects nothing). The stop may lie
    beyond the entry (locking in profit). Trap: apply it from the next candle (see the module).
    """
    _check_price("entry", entry)
    _check_price("extreme", extreme)
    if current_stop is not None:
        _check_price("current_stop", current_stop)
    if not rules.trailing_enabled:
        return None
    raw = extreme * _trail_factor(side, rules)
    if side is PositionSide.LONG:
        if extreme < _activation_price(side, entry, rules):
            return None
        candidate = instrument.round_price(raw, ROUND_FLOOR)
        tighter = candidate > 0 and (current_stop is None or candidate > current_stop)
    else:
        if extreme > _activation_price(side, entry, rules):
            return None
        candidate = instrument.round_price(raw, ROUND_CEILING)
        tighter = current_stop is None or candidate < current_stop
    return candidate if tighter else None


def trailing_trigger(
    side: PositionSide,
    entry: Decimal,
    current_stop: Decimal | None,
    rules: ExitRules,
    instrument: Instrument,
) -> float:
    """The float price the favourable extreme must reach (long ``>=``, short ``<=``) to tighten the stop.

    Conservative: for any extreme that does not reach it, ``trailing_stop`` returns ``None``, so
    the engine may skip those candles without calling it. It is the exact threshold (the
    activation price, or the extreme whose candidate is the first tick beyond ``current_stop``,
    whichever is later) moved one part in a billion early, so it may fire on a candle where
    ``trailing_stop`` still returns ``None``; ``trailing_stop`` decides exactly. Recompute it
    whenever the stop changes. ``inf`` for a long (``-inf`` for a short) when trailing is
    disabled; ``-inf`` for a short that can never tighten (activation at 100% or more, or a stop
    already within a tick of zero).
    """
    _check_price("entry", entry)
    if current_stop is not None:
        _check_price("current_stop", current_stop)
    long = side is PositionSide.LONG
    if not rules.trailing_enabled:
        return math.inf if long else -math.inf
    tick = instrument.tick_size
    factor = _trail_factor(side, rules)
    activation = _activation_price(side, entry, rules)
    if long:
        # candidate = floor(x * factor) > max(current_stop, 0)  <=>  x * factor >= first tick above it
        floor_stop = current_stop if current_stop is not None else Decimal(0)
        first_tighter = instrument.round_price(floor_stop, ROUND_FLOOR) + tick
        threshold = max(activation, first_tighter / factor)
        return float(threshold) * (1 - _TRIGGER_EARLY)
    if current_stop is None:
        threshold = activation
    else:
        # candidate = ceil(x * factor) < current_stop  <=>  x * factor <= last tick below it
        last_tighter = instrument.round_price(current_stop, ROUND_CEILING) - tick
        threshold = min(activation, last_tighter / factor)
    if threshold <= 0:
        return -math.inf
    return float(threshold) * (1 + _TRIGGER_EARLY)


def time_exit_deadline(ts_opened_ms: int, rules: ExitRules) -> int | None:
    """Epoch ms at or after which the position must be closed: open time + ``max_holding_period_s``.

    ``None`` when the time exit is disabled. ``ts_opened_ms`` is when the position opened; the
    position is due once the engine's clock (a candle's close time in a backtest) is ``>= deadline``.
    """
    if not rules.time_exit_enabled:
        return None
    return ts_opened_ms + rules.max_holding_period_s * _MS_PER_S
