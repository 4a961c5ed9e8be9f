"""The trading journal: every domain event that changes the account, as rows.

:func:`journal_rows` maps an event to the rows that record it (``OrderFilled`` is both an order
snapshot and a fill); :class:`SqlJournal` appends events in one transaction. Events that are not
journaled here: ``CandleClosed`` (the candle goes to the candle store) and ``FeedGapBackfilled``
(an operational fact for logs and metrics; the backfilled candles are in the candle store).
Nested domain values in JSON columns (a risk event's intent, a snapshot's positions) keep decimals
as strings, so they stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trading_agent.domain import (
    CandleClosed,
    CircuitBreakerReset,
    CircuitBreakerTripped,
    EquitySnapshotTaken,
    Event,
    FeedGapBackfilled,
    FundingApplied,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    PositionChanged,
    PositionClosed,
    PositionLiquidated,
    PositionOpened,
    RiskApproved,
    RiskRejected,
    SignalGenerated,
    Trade,
)
from trading_agent.storage.engine import mask_password
from trading_agent.storage.errors import StorageError
from trading_agent.storage.schema import migrate
from trading_agent.storage.tables import (
    EquitySnapshotRow,
    FillRow,
    FundingPaymentRow,
    JournalRow,
    OrderRow,
    PositionRow,
    RiskEventRow,
    SignalRow,
    TradeRow,
)

__all__ = ["SqlJournal", "journal_rows", "to_json"]


def to_json(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses become objects, decimals strings, enums their values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_json(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, Mapping):
        return {str(name): to_json(item) for name, item in value.items()}
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value


def _identity(event: Event) -> dict[str, Any]:
    return {"event_id": event.event_id, "ts_event": event.ts_event, "ts_init": event.ts_init}


def _order_row(event: Event, order: Order, event_type: str, reason: str | None = None) -> OrderRow:
    intent = order.intent
    return OrderRow(
        **_identity(event),
        event_type=event_type,
        order_id=order.id,
        client_order_id=intent.client_order_id,
        exchange=intent.instrument.venue,
        symbol=intent.instrument.symbol,
        side=intent.side.value,
        order_type=intent.order_type.value,
        contracts=intent.contracts,
        limit_price=intent.limit_price,
        stop_price=intent.stop_price,
        reduce_only=intent.reduce_only,
        stop_loss=intent.stop_loss,
        take_profit=intent.take_profit,
        leverage=intent.leverage,
        status=order.status.value,
        ts_created=order.ts_created,
        ts_updated=order.ts_updated,
        filled_contracts=order.filled_contracts,
        avg_fill_price=order.avg_fill_price,
        reject_reason=order.reject_reason,
        reason=reason,
    )


def _trade_row(event: Event, trade: Trade, event_type: str) -> TradeRow:
    return TradeRow(
        **_identity(event),
        event_type=event_type,
        trade_id=trade.id,
        exchange=trade.instrument.venue,
        symbol=trade.instrument.symbol,
        side=trade.side.value,
        contracts=trade.contracts,
        entry_price=trade.entry_price,
        exit_price=trade.exit_price,
        pnl=trade.pnl,
        pnl_percent=trade.pnl_percent,
        fees=trade.fees,
        funding=trade.funding,
        ts_opened=trade.ts_opened,
        ts_closed=trade.ts_closed,
        holding_period_s=trade.holding_period_s,
        exit_reason=trade.exit_reason,
        signal_confidence=trade.signal_confidence,
        model_predictions=to_json(trade.model_predictions),
        market_conditions=to_json(trade.market_conditions),
    )


def _risk_row(event: Event, kind: str, **values: Any) -> RiskEventRow:
    return RiskEventRow(**_identity(event), kind=kind, **values)


def journal_rows(event: Event) -> list[JournalRow]:
    """The rows that record ``event`` (empty for events journaled elsewhere; see the module doc)."""
    match event:
        case SignalGenerated(signal=signal):
            return [
                SignalRow(
                    **_identity(event),
                    exchange=signal.instrument.venue,
                    symbol=signal.instrument.symbol,
                    ts=signal.ts,
                    direction=signal.direction.value,
                    strength=signal.strength,
                    confidence=signal.confidence,
                    model_votes=to_json(signal.model_votes),
                    regime=signal.regime,
                    anomaly=signal.anomaly,
                )
            ]
        case RiskApproved(intent=intent):
            instrument = intent.instrument
            return [
                _risk_row(
                    event, "approved", exchange=instrument.venue, symbol=instrument.symbol, payload=to_json(intent)
                )
            ]
        case RiskRejected(intent=intent, violations=violations):
            instrument = intent.instrument
            return [
                _risk_row(
                    event,
                    "rejected",
                    exchange=instrument.venue,
                    symbol=instrument.symbol,
                    violations=list(violations),
                    payload=to_json(intent),
                )
            ]
        case CircuitBreakerTripped(breaker=breaker, reason=reason):
            return [_risk_row(event, "breaker_tripped", name=breaker, reason=reason)]
        case CircuitBreakerReset(breaker=breaker, reason=reason):
            return [_risk_row(event, "breaker_reset", name=breaker, reason=reason)]
        case OrderSubmitted(order=order):
            return [_order_row(event, order, "submitted")]
        case OrderAccepted(order=order):
            return [_order_row(event, order, "accepted")]
        case OrderRejected(order=order, reason=reason):
            return [_order_row(event, order, "rejected", reason)]
        case OrderCanceled(order=order, reason=reason):
            return [_order_row(event, order, "canceled", reason)]
        case OrderFilled(order=order, fill=fill):
            return [
                _order_row(event, order, "filled"),
                FillRow(
                    **_identity(event),
                    trade_id=fill.trade_id,
                    order_id=fill.order_id,
                    exchange=fill.instrument.venue,
                    symbol=fill.instrument.symbol,
                    side=fill.side.value,
                    contracts=fill.contracts,
                    price=fill.price,
                    fee=fill.fee,
                    liquidity=fill.liquidity.value,
                    ts=fill.ts,
                ),
            ]
        case PositionOpened(position=position) | PositionChanged(position=position):
            return [
                PositionRow(
                    **_identity(event),
                    event_type="opened" if isinstance(event, PositionOpened) else "changed",
                    exchange=position.instrument.venue,
                    symbol=position.instrument.symbol,
                    side=position.side.value,
                    contracts=position.contracts,
                    entry_price=position.entry_price,
                    leverage=position.leverage,
                    margin=position.margin,
                    liquidation_price=position.liquidation_price,
                    ts_opened=position.ts_opened,
                    realized_pnl=position.realized_pnl,
                    fees=position.fees,
                    funding=position.funding,
                )
            ]
        case PositionClosed(trade=trade):
            return [_trade_row(event, trade, "closed")]
        case PositionLiquidated(trade=trade):
            return [_trade_row(event, trade, "liquidated")]
        case FundingApplied(instrument=instrument, rate=rate, amount=amount):
            return [
                FundingPaymentRow(
                    **_identity(event),
                    exchange=instrument.venue,
                    symbol=instrument.symbol,
                    rate_ts=rate.ts,
                    rate=rate.rate,
                    amount=amount,
                )
            ]
        case EquitySnapshotTaken(state=state):
            return [
                EquitySnapshotRow(
                    **_identity(event),
                    ts=state.ts,
                    cash=state.cash,
                    equity=state.equity,
                    unrealized_pnl=state.unrealized_pnl,
                    realized_pnl=state.realized_pnl,
                    peak_equity=state.peak_equity,
                    day_start_equity=state.day_start_equity,
                    consecutive_losses=state.consecutive_losses,
                    trades_today=state.trades_today,
                    last_trade_ts=state.last_trade_ts,
                    positions=to_json(state.positions),
                )
            ]
        case CandleClosed() | FeedGapBackfilled():
            return []
    raise TypeError(f"no journal mapping for {type(event).__name__}")


class SqlJournal:
    """Appends domain events to the journal tables. Opening it migrates the database."""

    def __init__(self, engine: Engine) -> None:
        migrate(engine)
        self._engine = engine

    def append(self, events: Iterable[Event]) -> int:
        """Journal ``events`` in one transaction; the rows written.

        A repeated ``event_id`` (or fill ``trade_id``) raises :class:`StorageError` and writes nothing.
        """
        rows = [row for event in events for row in journal_rows(event)]
        try:
            with Session(self._engine) as session, session.begin():
                session.add_all(rows)
        except SQLAlchemyError as exc:
            raise StorageError(f"journal append failed on {mask_password(self._engine.url)!r}: {exc}") from exc
        return len(rows)
