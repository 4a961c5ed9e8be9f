"""Isolated-margin arithmetic for linear (USD-settled) perpetuals: PnL, margin, liquidation.

Pure ``Decimal`` functions, no state. Formulas follow ../shared/DELTA_EXCHANGE.md §7
([MCP-RISK], [BLOG-FEE], [UG-IM], [UG-LIQ]). With ``q`` contracts, contract value ``cv``,
entry ``E``, price ``P``, leverage ``L`` and maintenance fraction ``mm``:

- notional          = q x cv x P
- PnL (linear)      = q x cv x (P - E) for a long, q x cv x (E - P) for a short
- position margin   = q x cv x E / L (isolated; unrealised PnL is not credited to it)
- maintenance margin = q x cv x P x mm (valued at the mark price)
- liquidation: the mark price where margin + uPnL = maintenance margin
  long  P = (q cv E - M) / (q cv (1 - mm))   = E (1 - 1/L) / (1 - mm)  for M = q cv E / L
  short P = (q cv E + M) / (q cv (1 + mm))   = E (1 + 1/L) / (1 + mm)
- bankruptcy: the price where the loss equals the margin
  long  P = E - M / (q cv) = E (1 - 1/L);  short  P = E + M / (q cv) = E (1 + 1/L)

Risk limits: ``mm`` (and the leverage limit, through IM) is the instrument's fraction for the
position's value at entry, ``q cv E`` (``Instrument.maintenance_margin_at``): flat up to
``max_leverage_notional``, then growing linearly. Valuing the size at entry rather than at the
mark is our assumption (Delta's guide says only "position size"); it keeps the liquidation price
linear in the margin and fixed while the mark moves.

Not modelled: incremental liquidation of large positions. The liquidation charge needs no model:
closing at the bankruptcy price loses the whole margin, whatever part of it the exchange keeps as
the charge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from trading_agent.domain import Instrument, PositionSide
from trading_agent.engine.errors import LeverageTooHighError, MarginInputError

__all__ = [
    "LeverageTooHighError",
    "MarginInputError",
    "PositionIncrease",
    "PositionReduction",
    "bankruptcy_price",
    "bankruptcy_price_for_margin",
    "increase_position",
    "is_liquidated",
    "liquidation_price",
    "liquidation_price_for_margin",
    "maintenance_margin",
    "max_allowed_leverage",
    "position_margin",
    "realized_pnl",
    "reduce_position",
    "round_to_tick_safe",
    "unrealized_pnl",
]

_ONE = Decimal(1)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionIncrease:
    """The position after adding contracts on the same side: size and weighted-average entry."""

    contracts: int
    entry_price: Decimal


@dataclass(frozen=True, slots=True)
class PositionReduction:
    """The result of closing part (or all) of a position.

    ``contracts`` is what remains (0 when flat); the entry price is unchanged by a reduction;
    ``realized_pnl`` excludes fees; ``released_margin`` is the pro-rata share of the margin.
    """

    contracts: int
    realized_pnl: Decimal
    released_margin: Decimal


def _side_sign(side: PositionSide) -> int:
    return 1 if side is PositionSide.LONG else -1


def _check_contracts(contracts: int, name: str = "contracts") -> None:
    if contracts <= 0:
        raise MarginInputError(f"{name} must be a positive whole number, got {contracts}")


def _check_price(price: Decimal, name: str = "price") -> None:
    if not price.is_finite() or price <= 0:
        raise MarginInputError(f"{name} must be finite and positive, got {price}")


def _check_margin(margin: Decimal) -> None:
    if not margin.is_finite():
        raise MarginInputError(f"margin must be finite, got {margin}")


def max_allowed_leverage(instrument: Instrument, notional: Decimal = _ZERO) -> Decimal:
    """Highest leverage allowed for a position worth ``notional``: min(max_leverage, 1 / IM(notional)).

    The exchange derives max leverage as 100 / IM% [CCXT-EX]; the smaller of the two guards a
    config where ``max_leverage`` and ``initial_margin`` disagree. Above ``max_leverage_notional``
    IM grows, so the limit falls (the risk gate checks it for the position an order leads to).
    """
    return instrument.max_leverage_at(notional)


def _check_leverage(leverage: Decimal, instrument: Instrument) -> None:
    if not leverage.is_finite() or leverage < 1:
        raise MarginInputError(f"leverage must be finite and at least 1, got {leverage}")
    limit = max_allowed_leverage(instrument)
    if leverage > limit:
        raise LeverageTooHighError(f"{instrument.id}: leverage {leverage} exceeds the maximum {limit}")


def unrealized_pnl(
    side: PositionSide, contracts: int, entry: Decimal, mark: Decimal, instrument: Instrument
) -> Decimal:
    """Linear PnL in USD: ``contracts x contract_value x (mark - entry)``, negated for a short."""
    _check_contracts(contracts)
    _check_price(entry, "entry")
    _check_price(mark, "mark")
    return _side_sign(side) * contracts * instrument.contract_value * (mark - entry)


def realized_pnl(
    side: PositionSide, contracts: int, entry: Decimal, exit_price: Decimal, instrument: Instrument
) -> Decimal:
    """PnL (before fees) of closing ``contracts`` at ``exit_price``; same formula as ``unrealized_pnl``."""
    return unrealized_pnl(side, contracts, entry, exit_price, instrument)


def position_margin(contracts: int, entry: Decimal, leverage: Decimal, instrument: Instrument) -> Decimal:
    """Isolated position margin: notional at entry / leverage.

    Raises ``LeverageTooHighError`` above ``max_allowed_leverage`` and ``MarginInputError`` below 1.
    """
    _check_contracts(contracts)
    _check_price(entry, "entry")
    _check_leverage(leverage, instrument)
    return instrument.notional(contracts, entry) / leverage


def maintenance_margin(contracts: int, entry: Decimal, mark: Decimal, instrument: Instrument) -> Decimal:
    """Maintenance margin: notional at the mark price x the maintenance fraction of the size at ``entry``."""
    _check_contracts(contracts)
    _check_price(entry, "entry")
    _check_price(mark, "mark")
    return instrument.notional(contracts, mark) * _maintenance_fraction(contracts, entry, instrument)


def _maintenance_fraction(contracts: int, entry: Decimal, instrument: Instrument) -> Decimal:
    return instrument.maintenance_margin_at(instrument.notional(contracts, entry))


def round_to_tick_safe(side: PositionSide, price: Decimal, instrument: Instrument) -> Decimal:
    """Round a liquidation or bankruptcy price to the tick in the exchange's safe direction.

    Long: up (ceiling), short: down (floor). The rounded price is reached no later than the exact
    one, so liquidation never comes later and the loss closed at bankruptcy never exceeds the margin.
    """
    return instrument.round_price(price, ROUND_CEILING if side is PositionSide.LONG else ROUND_FLOOR)


def _finish(side: PositionSide, price: Decimal, instrument: Instrument, round_to_tick: bool) -> Decimal:
    price = max(price, _ZERO)
    return round_to_tick_safe(side, price, instrument) if round_to_tick else price


def liquidation_price_for_margin(
    side: PositionSide,
    contracts: int,
    entry: Decimal,
    margin: Decimal,
    instrument: Instrument,
    *,
    round_to_tick: bool = True,
) -> Decimal:
    """Mark price where margin + uPnL = maintenance margin, for any isolated margin ``M``.

    Long ``(q cv E - M) / (q cv (1 - mm))``, short ``(q cv E + M) / (q cv (1 + mm))``. Use this
    after margin changes (adds, fees, funding taken from margin). A long whose margin covers the
    whole notional gets 0 (it cannot be liquidated). ``M`` may be zero or negative once funding has
    taken more than the margin: the position then lives on its unrealised profit, and its
    liquidation price lies beyond the entry (a short's may reach 0: liquidated at any price).
    Rounded by ``round_to_tick_safe`` unless told not to.
    """
    _check_contracts(contracts)
    _check_price(entry, "entry")
    _check_margin(margin)
    size = contracts * instrument.contract_value
    mm = _maintenance_fraction(contracts, entry, instrument)
    if side is PositionSide.LONG:
        price = (size * entry - margin) / (size * (_ONE - mm))
    else:
        price = (size * entry + margin) / (size * (_ONE + mm))
    return _finish(side, price, instrument, round_to_tick)


def liquidation_price(
    side: PositionSide,
    contracts: int,
    entry: Decimal,
    leverage: Decimal,
    instrument: Instrument,
    *,
    round_to_tick: bool = True,
) -> Decimal:
    """Liquidation price of a fresh isolated position at ``leverage`` (margin = notional / L).

    Long ``E (1 - 1/L) / (1 - mm)``, short ``E (1 + 1/L) / (1 + mm)``: independent of the size
    while the position is worth at most ``max_leverage_notional`` (``mm`` grows above it).
    Example (BTCUSD, mm 0.25%): long at 60,000 with 10x -> 54,135.338... -> 54,135.5 on a 0.5 tick.
    """
    margin = position_margin(contracts, entry, leverage, instrument)
    return liquidation_price_for_margin(side, contracts, entry, margin, instrument, round_to_tick=round_to_tick)


def bankruptcy_price_for_margin(
    side: PositionSide,
    contracts: int,
    entry: Decimal,
    margin: Decimal,
    instrument: Instrument,
    *,
    round_to_tick: bool = True,
) -> Decimal:
    """Price where the loss equals the margin: long ``E - M / (q cv)``, short ``E + M / (q cv)`` (any finite ``M``)."""
    _check_contracts(contracts)
    _check_price(entry, "entry")
    _check_margin(margin)
    per_unit = margin / (contracts * instrument.contract_value)
    price = entry - per_unit if side is PositionSide.LONG else entry + per_unit
    return _finish(side, price, instrument, round_to_tick)


def bankruptcy_price(
    side: PositionSide,
    entry: Decimal,
    leverage: Decimal,
    instrument: Instrument,
    *,
    round_to_tick: bool = True,
) -> Decimal:
    """Bankruptcy price of a fresh isolated position: long ``E (1 - 1/L)``, short ``E (1 + 1/L)``."""
    _check_price(entry, "entry")
    _check_leverage(leverage, instrument)
    step = entry / leverage
    price = entry - step if side is PositionSide.LONG else entry + step
    return _finish(side, price, instrument, round_to_tick)


def is_liquidated(side: PositionSide, liquidation_price: Decimal, price: Decimal | float) -> bool:
    """Whether ``price`` reaches the liquidation price: long ``price <= liq``, short ``price >= liq``.

    Pass the mark price, or on candles the adverse extreme (the low for a long, the high for a
    short). Accepts a float so the hot path can compare candle prices directly. NaN raises.
    """
    if isinstance(price, float) and math.isnan(price):
        raise MarginInputError("price must not be NaN")
    if isinstance(price, Decimal) and price.is_nan():
        raise MarginInputError("price must not be NaN")
    if side is PositionSide.LONG:
        return price <= liquidation_price
    return price >= liquidation_price


def increase_position(contracts: int, entry: Decimal, added: int, price: Decimal) -> PositionIncrease:
    """Add ``added`` contracts at ``price`` on the same side: entry becomes the size-weighted average.

    ``(q1 x E1 + q2 x E2) / (q1 + q2)``, exact (not rounded to the tick; linear PnL stays exact).
    """
    _check_contracts(contracts)
    _check_contracts(added, "added")
    _check_price(entry, "entry")
    _check_price(price)
    total = contracts + added
    return PositionIncrease(total, (contracts * entry + added * price) / total)


def reduce_position(
    side: PositionSide,
    contracts: int,
    entry: Decimal,
    margin: Decimal,
    *,
    closed: int,
    exit_price: Decimal,
    instrument: Instrument,
) -> PositionReduction:
    """Close ``closed`` of ``contracts`` at ``exit_price``: realised PnL and the pro-rata margin released.

    Closing more than is held is refused: a reversal is a full close followed by a new position.
    ``margin`` may be zero or negative (funding can eat an isolated margin): it is released pro rata all the same.
    """
    _check_contracts(contracts)
    _check_contracts(closed, "closed")
    if not margin.is_finite():
        raise MarginInputError(f"margin must be finite, got {margin}")
    if closed > contracts:
        raise MarginInputError(f"cannot close {closed} contracts of a {contracts}-contract position")
    pnl = realized_pnl(side, closed, entry, exit_price, instrument)
    released = margin if closed == contracts else margin * closed / contracts
    return PositionReduction(contracts - closed, pnl, released)
