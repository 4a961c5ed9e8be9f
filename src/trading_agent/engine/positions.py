"""The netted position on one instrument, built only from fills: ``apply_fill`` and ``apply_funding``.

Pure functions over a frozen ``PositionState``. A fill opens, increases (size-weighted entry,
``margin.increase_position``), reduces (realised PnL, ``margin.reduce_position``), closes (a
``Trade`` whose pnl is net of fees and funding) or flips (close, then open the remainder) the
position. A flip's fee is split pro rata between the closing and the opening part. A repeated
``trade_id`` raises ``DuplicateFillError``.

Isolated margin: the leverage is fixed when a position opens; adds are margined at that leverage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from trading_agent.domain import (
    Event,
    Fill,
    Instrument,
    InstrumentId,
    OrderIntent,
    Position,
    PositionChanged,
    PositionClosed,
    PositionOpened,
    PositionSide,
    Side,
    Trade,
    TradeId,
)
from trading_agent.engine.errors import EngineError
from trading_agent.engine.margin import (
    increase_position,
    liquidation_price_for_margin,
    position_margin,
    reduce_position,
)
from trading_agent.engine.orders import DuplicateFillError, FillMismatchError
from trading_agent.engine.recorder import UNSTAMPED

__all__ = [
    "DuplicateFillError",
    "FillMismatchError",
    "NoPositionError",
    "PositionState",
    "apply_fill",
    "apply_funding",
]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class NoPositionError(EngineError):
    """Funding applied while the instrument is flat."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionState:
    """One instrument's position (``None`` when flat) and lifetime totals.

    ``realized_pnl`` is before fees and funding; ``fees`` and ``funding`` are positive when paid.
    ``trade_ids`` holds the fills of the open position (empty when flat): a fill repeated while the
    position lives is refused here; over the whole life of an account the engine refuses repeats
    (every fill belongs to one order, whose state refuses it, and the journal keeps trade ids
    unique), so this set stays as small as a position. The ``round_trip_*`` fields describe the current
    position since it opened (for its ``Trade``): contracts entered, margin committed, and the
    contracts and value (contracts x price) exited so far.
    """

    instrument: InstrumentId
    position: Position | None = None
    realized_pnl: Decimal = _ZERO
    fees: Decimal = _ZERO
    funding: Decimal = _ZERO
    trade_ids: frozenset[TradeId] = frozenset()
    round_trip_contracts: int = 0
    round_trip_margin: Decimal = _ZERO
    exit_contracts: int = 0
    exit_value: Decimal = _ZERO

    @property
    def is_flat(self) -> bool:
        """Whether no position is open."""
        return self.position is None


def _side_of(side: Side) -> PositionSide:
    return PositionSide.LONG if side is Side.BUY else PositionSide.SHORT


def _trade_log(opened_by: OrderIntent | None) -> dict[str, Any]:
    """The blueprint's log fields of a trade, from the order that opened its position (none without it)."""
    if opened_by is None:
        return {}
    conditions = {"leverage": float(opened_by.leverage)}
    if opened_by.stop_distance is not None:
        conditions["stop_distance"] = float(opened_by.stop_distance)
    signal = opened_by.signal
    return {
        "signal_confidence": signal.confidence if signal is not None else None,
        "model_predictions": dict(signal.model_votes) if signal is not None else {},
        "market_conditions": conditions,
    }


def _open(
    state: PositionState,
    fill: Fill,
    *,
    contracts: int,
    fee: Decimal,
    instrument: Instrument,
    leverage: Decimal,
    ts: int,
) -> tuple[PositionState, Event]:
    margin = position_margin(contracts, fill.price, leverage, instrument)
    side = _side_of(fill.side)
    position = Position(
        instrument=instrument.id,
        side=side,
        contracts=contracts,
        entry_price=fill.price,
        leverage=leverage,
        margin=margin,
        liquidation_price=liquidation_price_for_margin(side, contracts, fill.price, margin, instrument),
        ts_opened=ts,
        fees=fee,
    )
    new_state = replace(
        state,
        position=position,
        fees=state.fees + fee,
        trade_ids=frozenset({fill.trade_id}),
        round_trip_contracts=contracts,
        round_trip_margin=margin,
        exit_contracts=0,
        exit_value=_ZERO,
    )
    return new_state, PositionOpened(ts_event=ts, position=position, **UNSTAMPED)


def _increase(
    state: PositionState, position: Position, fill: Fill, instrument: Instrument, ts: int
) -> tuple[PositionState, Event]:
    grown = increase_position(position.contracts, position.entry_price, fill.contracts, fill.price)
    added_margin = position_margin(fill.contracts, fill.price, position.leverage, instrument)
    margin = position.margin + added_margin
    new_position = replace(
        position,
        contracts=grown.contracts,
        entry_price=grown.entry_price,
        margin=margin,
        liquidation_price=liquidation_price_for_margin(
            position.side, grown.contracts, grown.entry_price, margin, instrument
        ),
        fees=position.fees + fill.fee,
    )
    new_state = replace(
        state,
        position=new_position,
        fees=state.fees + fill.fee,
        trade_ids=state.trade_ids | {fill.trade_id},
        round_trip_contracts=state.round_trip_contracts + fill.contracts,
        round_trip_margin=state.round_trip_margin + added_margin,
    )
    return new_state, PositionChanged(ts_event=ts, position=new_position, **UNSTAMPED)


def _reduce(
    state: PositionState,
    position: Position,
    fill: Fill,
    *,
    closed: int,
    fee: Decimal,
    instrument: Instrument,
    ts: int,
    exit_reason: str,
    opened_by: OrderIntent | None,
) -> tuple[PositionState, Event]:
    reduction = reduce_position(
        position.side,
        position.contracts,
        position.entry_price,
        position.margin,
        closed=closed,
        exit_price=fill.price,
        instrument=instrument,
    )
    trip_pnl = position.realized_pnl + reduction.realized_pnl
    trip_fees = position.fees + fee
    realized_pnl = state.realized_pnl + reduction.realized_pnl
    fees = state.fees + fee
    exit_contracts = state.exit_contracts + closed
    exit_value = state.exit_value + closed * fill.price
    if reduction.contracts > 0:
        margin = position.margin - reduction.released_margin
        smaller = replace(
            position,
            contracts=reduction.contracts,
            margin=margin,
            liquidation_price=liquidation_price_for_margin(
                position.side, reduction.contracts, position.entry_price, margin, instrument
            ),
            realized_pnl=trip_pnl,
            fees=trip_fees,
        )
        reduced = replace(
            state,
            position=smaller,
            realized_pnl=realized_pnl,
            fees=fees,
            trade_ids=state.trade_ids | {fill.trade_id},
            exit_contracts=exit_contracts,
            exit_value=exit_value,
        )
        return reduced, PositionChanged(ts_event=ts, position=smaller, **UNSTAMPED)
    pnl = trip_pnl - trip_fees - position.funding
    margin = state.round_trip_margin
    trade = Trade(
        id=fill.trade_id,
        instrument=position.instrument,
        side=position.side,
        contracts=state.round_trip_contracts,
        entry_price=position.entry_price,
        exit_price=exit_value / exit_contracts,
        pnl=pnl,
        pnl_percent=pnl / margin * _HUNDRED if margin > 0 else _ZERO,
        fees=trip_fees,
        funding=position.funding,
        ts_opened=position.ts_opened,
        ts_closed=ts,
        exit_reason=exit_reason,
        **_trade_log(opened_by),
    )
    flat = replace(
        state,
        position=None,
        realized_pnl=realized_pnl,
        fees=fees,
        trade_ids=frozenset(),
        round_trip_contracts=0,
        round_trip_margin=_ZERO,
        exit_contracts=0,
        exit_value=_ZERO,
    )
    return flat, PositionClosed(ts_event=ts, trade=trade, **UNSTAMPED)


def apply_fill(
    state: PositionState,
    fill: Fill,
    instrument: Instrument,
    *,
    leverage: Decimal,
    ts: int,
    exit_reason: str = "fill",
    opened_by: OrderIntent | None = None,
) -> tuple[PositionState, tuple[Event, ...]]:
    """Apply one fill; return the new state and the events it caused (in order).

    Events: ``PositionOpened``, ``PositionChanged`` (add or partial reduce), ``PositionClosed``
    (with the ``Trade``); a flip yields ``PositionClosed`` then ``PositionOpened``. ``leverage`` is
    used only when a position opens. ``opened_by``, the order that opened the position, gives a
    closed trade its log fields (signal confidence, model votes, leverage and stop distance). The
    events are not stamped yet (``UNSTAMPED`` ids): the engine's recorder stamps them. Raises
    ``DuplicateFillError`` for a repeated ``trade_id`` and ``FillMismatchError`` for a fill or
    instrument of another instrument.
    """
    if fill.instrument != state.instrument or instrument.id != state.instrument:
        raise FillMismatchError(f"fill {fill.trade_id} on {fill.instrument} applied to the {state.instrument} position")
    if fill.trade_id in state.trade_ids:
        raise DuplicateFillError(f"position on {state.instrument}: fill {fill.trade_id} was already applied")
    position = state.position
    if position is None:
        opened, event = _open(
            state, fill, contracts=fill.contracts, fee=fill.fee, instrument=instrument, leverage=leverage, ts=ts
        )
        return opened, (event,)
    if position.side is _side_of(fill.side):
        grown, event = _increase(state, position, fill, instrument, ts)
        return grown, (event,)
    closed = min(fill.contracts, position.contracts)
    close_fee = fill.fee if closed == fill.contracts else fill.fee * closed / fill.contracts
    reduced, event = _reduce(
        state,
        position,
        fill,
        closed=closed,
        fee=close_fee,
        instrument=instrument,
        ts=ts,
        exit_reason=exit_reason,
        opened_by=opened_by,
    )
    remainder = fill.contracts - closed
    if remainder == 0:
        return reduced, (event,)
    flipped, opened_event = _open(
        reduced, fill, contracts=remainder, fee=fill.fee - close_fee, instrument=instrument, leverage=leverage, ts=ts
    )
    return flipped, (event, opened_event)


def apply_funding(state: PositionState, amount: Decimal, instrument: Instrument) -> PositionState:
    """Book a funding payment on the open position (positive ``amount`` = paid, negative = received).

    Isolated margin pays it: the position's margin shrinks by what is paid (grows by what is
    received) and the liquidation price moves accordingly. The margin may go below zero: a
    position in profit lives on while margin + uPnL stays above the maintenance margin, and the
    engine liquidates it once the mark reaches the new liquidation price (at the settlement
    itself if it already has). Raises ``NoPositionError`` when flat.
    """
    if state.position is None:
        raise NoPositionError(f"funding of {amount} applied to the flat {state.instrument} position")
    held = state.position
    margin = held.margin - amount
    liquidation = liquidation_price_for_margin(held.side, held.contracts, held.entry_price, margin, instrument)
    position = replace(held, funding=held.funding + amount, margin=margin, liquidation_price=liquidation)
    return replace(state, position=position, funding=state.funding + amount)
