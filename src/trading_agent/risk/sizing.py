"""Position sizing: how many USD of notional an entry should carry.

Fractions and volatilities are floats; money is ``Decimal``. A sizer turns ``equity`` (Decimal)
and a fraction (float) into a USD notional: the fraction is rounded to 12 decimal places (so float
noise such as 0.19999999999999998 does not cost a cent), converted with ``Decimal(repr(x))``, and
the product is rounded down to whole cents. Every sizer clamps a positive size to
``[min_position_size, max_position_size]``; a size of 0 (no edge, no equity) stays 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from trading_agent.domain.market import Instrument
from trading_agent.domain.trading import SizingMethod, Trade
from trading_agent.risk.errors import RiskError

__all__ = [
    "FixedFractionalSizer",
    "KellySizer",
    "PositionSizer",
    "SizingContext",
    "SizingRules",
    "VolatilitySizer",
    "contracts_for_notional",
    "kelly_fraction",
    "make_sizer",
]

_CENT = Decimal("0.01")
_FRACTION_PLACES = 12


def _require_fraction(name: str, value: float, *, low: float, high: float, low_inclusive: bool = True) -> None:
    above_low = value >= low if low_inclusive else value > low
    if not (math.isfinite(value) and above_low and value <= high):
        bracket = "[" if low_inclusive else "("
        raise RiskError(f"{name} must be in {bracket}{low}, {high}], got {value}")


def kelly_fraction(
    win_rate: float, avg_win: float, avg_loss: float, *, fraction: float = 0.5, cap: float = 0.25
) -> float:
    """Fractional Kelly share of equity: ``fraction x (p - (1 - p) / b)`` with ``b = avg_win / |avg_loss|``.

    Capped at ``cap``; 0 when the edge is negative or ``avg_loss`` is 0 (no loss history means no
    estimate of the risk, not an infinite edge). ``avg_loss`` may be given with either sign.
    """
    _require_fraction("win_rate", win_rate, low=0.0, high=1.0)
    _require_fraction("fraction", fraction, low=0.0, high=1.0, low_inclusive=False)
    _require_fraction("cap", cap, low=0.0, high=1.0, low_inclusive=False)
    if not (math.isfinite(avg_win) and avg_win >= 0):
        raise RiskError(f"avg_win must be finite and >= 0, got {avg_win}")
    if not math.isfinite(avg_loss):
        raise RiskError(f"avg_loss must be finite, got {avg_loss}")
    if avg_loss == 0 or avg_win == 0:
        return 0.0
    payoff = avg_win / abs(avg_loss)
    full_kelly = win_rate - (1.0 - win_rate) / payoff
    return max(0.0, min(full_kelly * fraction, cap))


@dataclass(frozen=True, slots=True, kw_only=True)
class SizingRules:
    """Sizing parameters; names match the config's ``PositionSizing`` (USD amounts as Decimal)."""

    method: SizingMethod = SizingMethod.KELLY_CRITERION
    kelly_fraction: float = 0.5
    kelly_cap: float = 0.25
    kelly_min_trades: int = 30
    risk_per_trade: float = 0.02
    base_risk: float = 0.02
    volatility_cap: float = 2.0
    min_position_size: Decimal = Decimal(100)
    max_position_size: Decimal = Decimal(2500)

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", SizingMethod(self.method))
        _require_fraction("kelly_fraction", self.kelly_fraction, low=0.0, high=1.0, low_inclusive=False)
        _require_fraction("kelly_cap", self.kelly_cap, low=0.0, high=1.0, low_inclusive=False)
        _require_fraction("risk_per_trade", self.risk_per_trade, low=0.01, high=0.10)
        _require_fraction("base_risk", self.base_risk, low=0.01, high=0.10)
        _require_fraction("volatility_cap", self.volatility_cap, low=0.0, high=5.0, low_inclusive=False)
        if self.kelly_min_trades < 1:
            raise RiskError(f"kelly_min_trades must be >= 1, got {self.kelly_min_trades}")
        if not (self.min_position_size.is_finite() and self.min_position_size >= 0):
            raise RiskError(f"min_position_size must be finite and >= 0, got {self.min_position_size}")
        if not (self.max_position_size.is_finite() and self.max_position_size > 0):
            raise RiskError(f"max_position_size must be finite and > 0, got {self.max_position_size}")
        if self.min_position_size > self.max_position_size:
            raise RiskError(
                f"min_position_size ({self.min_position_size}) must not exceed max_position_size "
                f"({self.max_position_size})"
            )

    def clamp(self, notional: Decimal) -> Decimal:
        """0 stays 0 (no trade); a positive notional is clamped to [min_position_size, max_position_size]."""
        if notional <= 0:
            return Decimal(0)
        return min(max(notional, self.min_position_size), self.max_position_size)


@dataclass(frozen=True, slots=True, kw_only=True)
class SizingContext:
    """What a sizer may look at besides equity: closed trades and volatility (any consistent unit)."""

    trades: Sequence[Trade] = ()
    current_volatility: float | None = None
    average_volatility: float | None = None


class PositionSizer(Protocol):
    """Turns equity and context into the USD notional of one entry."""

    def size(self, equity: Decimal, context: SizingContext) -> Decimal:
        """USD notional for an entry; 0 means do not trade. Non-positive equity gives 0."""
        ...


def _notional(equity: Decimal, fraction: float, rules: SizingRules) -> Decimal:
    if equity <= 0 or fraction <= 0:
        return Decimal(0)
    raw = (equity * Decimal(repr(round(fraction, _FRACTION_PLACES)))).quantize(_CENT, rounding=ROUND_DOWN)
    return rules.clamp(raw)


@dataclass(frozen=True, slots=True)
class FixedFractionalSizer:
    """Notional = ``risk_per_trade`` x equity (1-10%)."""

    rules: SizingRules

    def size(self, equity: Decimal, context: SizingContext) -> Decimal:
        """USD notional: ``risk_per_trade`` of equity, clamped."""
        return _notional(equity, self.rules.risk_per_trade, self.rules)


@dataclass(frozen=True, slots=True)
class KellySizer:
    """Fractional Kelly from the closed-trade history; fixed fractional until ``kelly_min_trades`` exist.

    A trade with ``pnl > 0`` is a win; any other trade is a loss (break-even counts against the edge).
    A history without a single loss earns ``kelly_cap`` (full Kelly at a 100% win rate, capped).
    """

    rules: SizingRules

    def fraction(self, trades: Sequence[Trade]) -> float:
        """Share of equity to commit given the history (the fallback's ``risk_per_trade`` if too short)."""
        if len(trades) < self.rules.kelly_min_trades:
            return self.rules.risk_per_trade
        wins = [float(t.pnl) for t in trades if t.pnl > 0]
        losses = [float(t.pnl) for t in trades if t.pnl <= 0]
        if not losses:
            return self.rules.kelly_cap
        avg_win = sum(wins) / len(wins) if wins else 0.0
        avg_loss = sum(losses) / len(losses)
        return kelly_fraction(
            len(wins) / len(trades), avg_win, avg_loss, fraction=self.rules.kelly_fraction, cap=self.rules.kelly_cap
        )

    def size(self, equity: Decimal, context: SizingContext) -> Decimal:
        """USD notional: the Kelly fraction of equity, clamped."""
        return _notional(equity, self.fraction(context.trades), self.rules)


@dataclass(frozen=True, slots=True)
class VolatilitySizer:
    """Notional = ``base_risk`` x equity x min(avg_vol / current_vol, ``volatility_cap``).

    When either volatility is missing, NaN, infinite or negative, or the average is 0, the ratio is
    1 (base size). A current volatility of exactly 0 with a positive average gives the cap.
    """

    rules: SizingRules

    def ratio(self, current_volatility: float | None, average_volatility: float | None) -> float:
        """The capped volatility multiplier."""
        if current_volatility is None or average_volatility is None:
            return 1.0
        known = math.isfinite(current_volatility) and math.isfinite(average_volatility)
        if not known or current_volatility < 0 or average_volatility <= 0:
            return 1.0
        if current_volatility == 0:
            return self.rules.volatility_cap
        return min(average_volatility / current_volatility, self.rules.volatility_cap)

    def size(self, equity: Decimal, context: SizingContext) -> Decimal:
        """USD notional: the volatility-scaled base fraction of equity, clamped."""
        multiplier = self.ratio(context.current_volatility, context.average_volatility)
        return _notional(equity, self.rules.base_risk * multiplier, self.rules)


def make_sizer(rules: SizingRules) -> PositionSizer:
    """The sizer that ``rules.method`` names."""
    sizers: dict[SizingMethod, type[KellySizer | FixedFractionalSizer | VolatilitySizer]] = {
        SizingMethod.KELLY_CRITERION: KellySizer,
        SizingMethod.FIXED_FRACTIONAL: FixedFractionalSizer,
        SizingMethod.VOLATILITY_ADJUSTED: VolatilitySizer,
    }
    return sizers[rules.method](rules)


def contracts_for_notional(notional: Decimal, instrument: Instrument, price: Decimal) -> int:
    """Whole contracts worth at most ``notional`` USD at ``price`` (rounded down); 0 below ``min_size``."""
    if not (price.is_finite() and price > 0):
        raise RiskError(f"price must be finite and positive, got {price}")
    if not notional.is_finite():
        raise RiskError(f"notional must be finite, got {notional}")
    if notional <= 0:
        return 0
    contracts = int((notional / (instrument.contract_value * price)).to_integral_value(rounding=ROUND_DOWN))
    return contracts if contracts >= instrument.min_size else 0
