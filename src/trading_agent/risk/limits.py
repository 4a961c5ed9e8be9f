"""Pre-trade risk limits: judge one ``OrderIntent`` against the account and return a decision.

A rejection is a result (``RiskDecision``), never an exception, and it names every limit broken.
Limits are floats (fractions, percentages); they are turned into ``Decimal`` with
``Decimal(repr(x))`` where they meet money.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from trading_agent.domain.market import Instrument, InstrumentId
from trading_agent.domain.trading import OrderIntent, PortfolioState, PositionSide
from trading_agent.risk.errors import RiskError

__all__ = ["ENTRY_LIMITS", "INPUT_CHECKS", "RiskDecision", "RiskLimits", "shrinks_position", "signed_contracts"]


def signed_contracts(state: PortfolioState, instrument: InstrumentId) -> int:
    """Contracts held on ``instrument``: positive long, negative short, 0 flat."""
    for position in state.positions:
        if position.instrument == instrument:
            return position.contracts if position.side is PositionSide.LONG else -position.contracts
    return 0


def shrinks_position(intent: OrderIntent, state: PortfolioState) -> bool:
    """Whether ``intent`` trades against the position on its instrument without exceeding it."""
    held = signed_contracts(state, intent.instrument)
    return held * intent.side.sign < 0 and intent.contracts <= abs(held)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """Limit values; names match the config's ``RiskManagement`` (plus ``min_confidence``)."""

    max_position_fraction: float = 0.25
    max_daily_loss_percent: float = 5.0
    max_drawdown_percent: float = 15.0
    max_consecutive_losses: int = 5
    max_leverage: float = 3.0
    min_confidence: float = 0.6
    max_trades_per_day: int = 20
    min_time_between_trades_s: int = 300
    max_correlation: float = 0.7

    def __post_init__(self) -> None:
        bounds = {
            "max_position_fraction": (0.0, 1.0),
            "max_daily_loss_percent": (0.0, 100.0),
            "max_drawdown_percent": (0.0, 100.0),
            "max_correlation": (0.0, 1.0),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not (math.isfinite(value) and low < value <= high):
                raise RiskError(f"{name} must be in ({low}, {high}], got {value}")
        if not (math.isfinite(self.max_leverage) and self.max_leverage >= 1):
            raise RiskError(f"max_leverage must be >= 1, got {self.max_leverage}")
        if not (math.isfinite(self.min_confidence) and 0 <= self.min_confidence <= 1):
            raise RiskError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        for name in ("max_consecutive_losses", "max_trades_per_day"):
            if getattr(self, name) < 1:
                raise RiskError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.min_time_between_trades_s < 0:
            raise RiskError(f"min_time_between_trades_s must be >= 0, got {self.min_time_between_trades_s}")

    def validate(
        self,
        intent: OrderIntent,
        state: PortfolioState,
        *,
        instrument: Instrument,
        price: Decimal,
        confidence: float,
        now_ms: int,
        correlation: float | None = None,
    ) -> RiskDecision:
        """Judge ``intent`` at ``price`` (USD) against these limits; never raises for bad inputs.

        Every intent must pass ``INPUT_CHECKS``. A reduce-only intent that shrinks (or closes) the
        position on its instrument skips ``ENTRY_LIMITS``; every other intent must pass them too.
        ``position_size`` compares the notional of the position *after* the intent with
        ``max_position_fraction`` x equity (equal is allowed); loss limits block once reached.
        ``correlation`` is the new exposure's correlation with open positions (``None`` = not checked;
        NaN is a violation). A bad price skips ``position_size``, which cannot be computed without it.
        """
        case = _Case(
            intent=intent,
            state=state,
            instrument=instrument,
            price=price,
            confidence=confidence,
            now_ms=now_ms,
            correlation=correlation,
            limits=self,
        )
        rules = _INPUT_RULES if intent.reduce_only and case.shrinks_position else _INPUT_RULES + _ENTRY_RULES
        found = [(name, reason) for name, check in rules if (reason := check(case)) is not None]
        return RiskDecision(
            approved=not found,
            violations=tuple(name for name, _ in found),
            reasons=tuple(reason for _, reason in found),
        )


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """Approved, or rejected with the name of every violated limit and a sentence for each."""

    approved: bool
    violations: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.approved == bool(self.violations) or len(self.violations) != len(self.reasons):
            raise RiskError("a decision is approved exactly when it has no violations, one reason per violation")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Case:
    intent: OrderIntent
    state: PortfolioState
    instrument: Instrument
    price: Decimal
    confidence: float
    now_ms: int
    correlation: float | None
    limits: RiskLimits

    @property
    def price_ok(self) -> bool:
        return self.price.is_finite() and self.price > 0

    @property
    def current_contracts(self) -> int:
        """Signed contracts held on the intent's instrument (+ long, - short)."""
        return signed_contracts(self.state, self.intent.instrument)

    @property
    def shrinks_position(self) -> bool:
        return shrinks_position(self.intent, self.state)

    @property
    def resulting_notional(self) -> Decimal:
        """USD value at ``price`` of the position the intent leads to (``price_ok`` must hold)."""
        resulting = self.current_contracts + self.intent.side.sign * self.intent.contracts
        return self.instrument.notional(resulting, self.price)


_Check = Callable[[_Case], str | None]


def _instrument(case: _Case) -> str | None:
    if case.intent.instrument != case.instrument.id:
        return f"intent is for {case.intent.instrument} but the instrument given is {case.instrument.id}"
    return None


def _price(case: _Case) -> str | None:
    return None if case.price_ok else f"price must be finite and positive, got {case.price}"


def _size(case: _Case) -> str | None:
    if case.intent.contracts < case.instrument.min_size:
        return f"{case.intent.contracts} contracts is below the instrument minimum of {case.instrument.min_size}"
    return None


def _reduce_only(case: _Case) -> str | None:
    if case.intent.reduce_only and not case.shrinks_position:
        return f"reduce-only {case.intent.side} of {case.intent.contracts} contracts does not shrink a position"
    return None


def _position_size(case: _Case) -> str | None:
    if not case.price_ok:
        return None
    notional = case.resulting_notional
    cap = case.state.equity * Decimal(repr(case.limits.max_position_fraction))
    if notional > cap:
        share = f"{case.limits.max_position_fraction:.0%}"
        return f"resulting position of {notional:.2f} USD exceeds {share} of equity ({cap:.2f} USD)"
    return None


def _daily_loss(case: _Case) -> str | None:
    loss_percent = -case.state.daily_pnl_fraction * 100
    if loss_percent >= Decimal(repr(case.limits.max_daily_loss_percent)):
        return f"daily loss of {loss_percent:.2f}% reached the {case.limits.max_daily_loss_percent}% limit"
    return None


def _drawdown(case: _Case) -> str | None:
    drawdown_percent = case.state.drawdown * 100
    if drawdown_percent >= Decimal(repr(case.limits.max_drawdown_percent)):
        return f"drawdown of {drawdown_percent:.2f}% reached the {case.limits.max_drawdown_percent}% limit"
    return None


def _consecutive_losses(case: _Case) -> str | None:
    losses, limit = case.state.consecutive_losses, case.limits.max_consecutive_losses
    if losses >= limit:
        return f"{losses} consecutive losses reached the limit of {limit}"
    return None


def _leverage(case: _Case) -> str | None:
    """The limit's leverage, and the instrument's for the resulting position (lower above its threshold)."""
    configured = Decimal(repr(case.limits.max_leverage))
    instrument = case.instrument
    if case.price_ok and instrument.max_leverage_notional is not None:
        notional = case.resulting_notional
        tier = instrument.max_leverage_at(notional)
        if case.intent.leverage > tier and tier < configured:
            return (
                f"leverage {case.intent.leverage}x exceeds the {tier:.2f}x {instrument.id} allows for a "
                f"{notional:,.2f} USD position (margins grow above {instrument.max_leverage_notional:,} USD)"
            )
    allowed = min(configured, instrument.max_leverage)
    if case.intent.leverage > allowed:
        return f"leverage {case.intent.leverage}x exceeds the allowed {allowed}x"
    return None


def _confidence(case: _Case) -> str | None:
    if not (case.confidence >= case.limits.min_confidence):
        return f"signal confidence {case.confidence} is below the minimum {case.limits.min_confidence}"
    return None


def _trades_per_day(case: _Case) -> str | None:
    if case.state.trades_today >= case.limits.max_trades_per_day:
        return f"{case.state.trades_today} trades today reached the limit of {case.limits.max_trades_per_day}"
    return None


def _time_between_trades(case: _Case) -> str | None:
    last = case.state.last_trade_ts
    if last is None:
        return None
    elapsed_s = (case.now_ms - last) / 1000
    if elapsed_s < case.limits.min_time_between_trades_s:
        return f"only {elapsed_s:.0f}s since the last trade; the minimum is {case.limits.min_time_between_trades_s}s"
    return None


def _correlation(case: _Case) -> str | None:
    if case.correlation is None:
        return None
    if not (case.correlation <= case.limits.max_correlation):
        return f"correlation {case.correlation} with open positions exceeds {case.limits.max_correlation}"
    return None


_INPUT_RULES: tuple[tuple[str, _Check], ...] = (
    ("instrument", _instrument),
    ("price", _price),
    ("size", _size),
    ("reduce_only", _reduce_only),
)
_ENTRY_RULES: tuple[tuple[str, _Check], ...] = (
    ("position_size", _position_size),
    ("daily_loss", _daily_loss),
    ("drawdown", _drawdown),
    ("consecutive_losses", _consecutive_losses),
    ("leverage", _leverage),
    ("confidence", _confidence),
    ("trades_per_day", _trades_per_day),
    ("time_between_trades", _time_between_trades),
    ("correlation", _correlation),
)

INPUT_CHECKS: tuple[str, ...] = tuple(name for name, _ in _INPUT_RULES)
"""Checks every intent must pass, reduce-only included."""

ENTRY_LIMITS: tuple[str, ...] = tuple(name for name, _ in _ENTRY_RULES)
"""Limits that block new exposure; a reduce-only intent that shrinks a position skips them."""
