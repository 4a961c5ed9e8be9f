"""The gate every order a person or a strategy submits passes before it reaches the book.

Two kinds of refusal, both journaled with their reasons and never raised:

- ``order_problem``: the order cannot exist as given (unknown instrument, a price off the tick, a
  role the engine reserves for itself, exits on the wrong side of the price). The engine rejects it.
- ``risk_decision``: the order is valid but the risk manager refuses it: every limit of
  ``RiskLimits`` (which skips the entry limits for a reduce-only order that shrinks a position),
  plus the engine's own ``circuit_breaker`` (a tripped breaker blocks entries), ``anomaly`` (the
  anomaly filter's ``block`` refuses new exposure while the instrument is flagged) and ``margin``
  (the available balance must cover the margin and the taker fee of the new exposure).

Before the risk decision, ``anomaly_adjusted`` applies the anomaly filter's ``halve`` to the
exposure an intent adds (``risk.anomaly``); the approval records the size that was asked for.

Orders the engine places itself (stop-loss, take-profit, trailing and time exits, liquidation,
flattening) are reduce-only and bypass the gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from trading_agent.domain import Instrument, InstrumentId, Liquidity, OrderIntent, PortfolioState, Side
from trading_agent.engine.costs import FeeModel
from trading_agent.engine.margin import max_allowed_leverage
from trading_agent.risk.anomaly import AnomalyRules
from trading_agent.risk.breakers import BreakerBoard
from trading_agent.risk.limits import RiskDecision, RiskLimits, shrinks_position, signed_contracts

__all__ = ["anomaly_adjusted", "order_problem", "reference_price", "risk_decision"]


def reference_price(intent: OrderIntent, mark: Decimal | None) -> Decimal | None:
    """The price an intent is judged at: its limit, else its stop, else the last close (``mark``)."""
    if intent.limit_price is not None:
        return intent.limit_price
    if intent.stop_price is not None:
        return intent.stop_price
    return mark


def _off_tick(intent: OrderIntent, instrument: Instrument) -> str | None:
    for name in ("limit_price", "stop_price", "stop_loss", "take_profit"):
        value: Decimal | None = getattr(intent, name)
        if value is not None and not instrument.is_on_tick(value):
            return f"{name} {value} is not a multiple of the tick {instrument.tick_size}"
    return None


def _exit_sides(intent: OrderIntent, reference: Decimal) -> str | None:
    below, above = ("stop_loss", "take_profit") if intent.side is Side.BUY else ("take_profit", "stop_loss")
    low: Decimal | None = getattr(intent, below)
    high: Decimal | None = getattr(intent, above)
    if low is not None and low >= reference:
        return f"{below} {low} must be below the entry price {reference} for a {intent.side}"
    if high is not None and high <= reference:
        return f"{above} {high} must be above the entry price {reference} for a {intent.side}"
    return None


def order_problem(
    intent: OrderIntent, instruments: Mapping[InstrumentId, Instrument], mark: Decimal | None
) -> str | None:
    """Why ``intent`` cannot become an order at all, or ``None``; ``mark`` is the instrument's last close."""
    instrument = instruments.get(intent.instrument)
    if instrument is None:
        known = ", ".join(sorted(str(i) for i in instruments)) or "none"
        return f"unknown instrument {intent.instrument} (known: {known})"
    if intent.role.is_protective:
        return f"role {intent.role} is reserved for orders the engine places itself"
    has_exits = intent.stop_loss is not None or intent.take_profit is not None or intent.stop_distance is not None
    if intent.reduce_only and has_exits:
        return "a reduce-only order cannot carry a stop-loss, take-profit or stop distance"
    if intent.leverage < 1:
        return f"leverage must be at least 1, got {intent.leverage}"
    problem = _off_tick(intent, instrument)
    if problem is not None:
        return problem
    reference = reference_price(intent, mark)
    if reference is None:
        return f"no candle of {intent.instrument} yet: a {intent.order_type} order needs a price"
    return _exit_sides(intent, reference)


def _added_contracts(intent: OrderIntent, state: PortfolioState) -> int:
    held = signed_contracts(state, intent.instrument)
    after = held + intent.side.sign * intent.contracts
    return max(0, abs(after) - abs(held)) if held * after >= 0 else abs(after)


def anomaly_adjusted(
    intent: OrderIntent, state: PortfolioState, rules: AnomalyRules, *, anomalous: bool
) -> OrderIntent:
    """``intent`` with the anomaly filter's ``halve`` applied while ``anomalous``.

    A halving that leaves no contracts keeps the intent as it was: ``risk_decision`` refuses it.
    """
    if not anomalous:
        return intent
    contracts = rules.scaled(intent.contracts, _added_contracts(intent, state))
    return intent if contracts == 0 else replace(intent, contracts=contracts)


def _anomaly_problem(intent: OrderIntent, state: PortfolioState, rules: AnomalyRules) -> str | None:
    added = _added_contracts(intent, state)
    if rules.blocks(added):
        return "the market is flagged anomalous: new exposure is blocked"
    if rules.scaled(intent.contracts, added) == 0:
        return f"the market is flagged anomalous: x{rules.size_factor} of {added} contracts leaves none"
    return None


def risk_decision(
    intent: OrderIntent,
    state: PortfolioState,
    *,
    instrument: Instrument,
    price: Decimal,
    limits: RiskLimits,
    board: BreakerBoard,
    fees: FeeModel,
    available: Decimal,
    anomaly: AnomalyRules | None = None,
) -> RiskDecision:
    """Judge a valid ``intent`` at ``price`` against the limits, the breakers and the margin available.

    The signal's confidence is checked against ``min_confidence``; an intent without a signal (a
    person's order) counts as fully confident. ``anomaly`` is the anomaly filter's rules while the
    instrument is flagged (``None`` when it is not).
    """
    confidence = intent.signal.confidence if intent.signal is not None else 1.0
    decision = limits.validate(
        intent, state, instrument=instrument, price=price, confidence=confidence, now_ms=state.ts
    )
    found = list(zip(decision.violations, decision.reasons, strict=True))
    if not (intent.reduce_only and shrinks_position(intent, state)):
        if not board.allows_entries:
            tripped = "; ".join(f"{name} ({reason})" for name, reason in board.tripped.items())
            found.append(("circuit_breaker", f"circuit breakers tripped: {tripped}"))
        problem = None if anomaly is None else _anomaly_problem(intent, state, anomaly)
        if problem is not None:
            found.append(("anomaly", problem))
        added = _added_contracts(intent, state)
        leverage_ok = 1 <= intent.leverage <= max_allowed_leverage(instrument)
        if added and leverage_ok and price.is_finite() and price > 0:
            required = instrument.notional(added, price) / intent.leverage
            required += fees.fee(instrument, intent.contracts, price, Liquidity.TAKER)
            if required > available:
                found.append(("margin", f"needs {required:.2f} USD of margin and fees, {available:.2f} available"))
    return RiskDecision(
        approved=not found, violations=tuple(name for name, _ in found), reasons=tuple(reason for _, reason in found)
    )
