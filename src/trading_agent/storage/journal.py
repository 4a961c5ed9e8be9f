"""The trading journal: every domain event, as the canonical stream and as queryable rows.

:class:`SqlJournal` appends a batch of events in one transaction, twice over: each event as one
``events`` row (its whole value as a JSON document, see :mod:`trading_agent.storage.event_codec`),
which :meth:`SqlJournal.read` gives back in order to rebuild the engine after a crash; and the
projection rows of :func:`journal_rows`, one table per kind of fact (``OrderFilled`` is both an
order snapshot and a fill) for reports and queries. Events without projection rows:
``CandleClosed`` (the candle goes to the candle store) and ``FeedGapBackfilled`` (an operational
fact for logs and metrics; the backfilled candles are in the candle store), ``ModelDrift`` (kept in
the ``events`` stream for the model's history, queried by model name there) and ``MarketAnomaly``
(the anomaly flag's changes, kept in the ``events`` stream). Nested domain values
in JSON columns (a risk event's intent, a snapshot's positions) keep decimals as strings, so they
stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from trading_agent.domain import (
    AgentControlled,
    CandleClosed,
    CircuitBreakerReset,
    CircuitBreakerTripped,
    EquitySnapshotTaken,
    Event,
    FeedGapBackfilled,
    FundingApplied,
    MarketAnomaly,
    ModelDrift,
    Order,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderFillRefused,
    OrderRejected,
    OrderSubmitted,
    PositionChanged,
    PositionClosed,
    PositionLiquidated,
    PositionOpened,
    RiskApproved,
    RiskRejected,
    SignalFiltered,
    SignalGenerated,
    Trade,
)
from trading_agent.storage.engine import mask_password
from trading_agent.storage.errors import StorageError
from trading_agent.storage.event_codec import decode_event, encode_event, to_json
from trading_agent.storage.schema import migrate
from trading_agent.storage.tables import (
    Base,
    EquitySnapshotRow,
    EventRow,
    FillRow,
    FundingPaymentRow,
    JournalRow,
    OrderRow,
    PositionRow,
    RiskEventRow,
    SignalRow,
    TradeRow,
)

__all__ = ["SqlJournal", "journal_rows"]

_MAX_SESSION_LENGTH = 24  # EventRow.session
_READ_PAGE_SIZE = 1000


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
        role=intent.role.value,
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
        case SignalFiltered(signal=signal, reasons=reasons):
            return [
                _risk_row(
                    event,
                    "signal_filtered",
                    exchange=signal.instrument.venue,
                    symbol=signal.instrument.symbol,
                    violations=list(reasons),
                    payload=to_json(signal),
                )
            ]
        case AgentControlled(command=command, value=value, reason=reason):
            return [_risk_row(event, "control", name=command.value, reason=reason, payload={"value": value})]
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
        case OrderAmended(order=order, reason=reason):
            return [_order_row(event, order, "amended", reason)]
        case OrderFillRefused(order=order, reason=reason):
            return [_order_row(event, order, "fill_refused", reason)]
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
        case EquitySnapshotTaken(state=state, marks=marks):
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
                    fees=state.fees,
                    funding=state.funding,
                    marks=to_json(marks),
                )
            ]
        case CandleClosed() | FeedGapBackfilled() | ModelDrift() | MarketAnomaly():
            return []
    raise TypeError(f"no journal mapping for {type(event).__name__}")


def _values(row: Base) -> dict[str, Any]:
    """The column values a row was given (unset ones stay SQL NULL, or their server default)."""
    given = inspect(row).dict
    return {column.key: given[column.key] for column in inspect(type(row)).column_attrs if column.key in given}


def _stream(session: str, batch: list[Event]) -> list[EventRow]:
    return [_event_row(session, event) for event in batch]


def _event_row(session: str, event: Event) -> EventRow:
    event_type, payload = encode_event(event)
    return EventRow(
        session=session,
        event_id=event.event_id,
        event_type=event_type,
        ts_event=event.ts_event,
        ts_init=event.ts_init,
        payload=payload,
    )


class SqlJournal:
    """The journal of one engine session on a database. Opening it migrates the database.

    Several sessions (``session``: 1-24 characters, the engine's session name) can share one
    database; each reads back only its own events. A session has one writer at a time.
    """

    def __init__(self, engine: Engine, session: str = "default") -> None:
        if not session or len(session) > _MAX_SESSION_LENGTH:
            raise StorageError(f"journal session must be 1-{_MAX_SESSION_LENGTH} characters, got {session!r}")
        migrate(engine)
        self._engine = engine
        self._session = session

    def append(self, events: Iterable[Event]) -> int:
        """Journal ``events`` in one transaction, in the given order; the number of events appended.

        A repeated ``event_id`` (or fill ``trade_id``) raises :class:`StorageError` and writes nothing.
        """
        batch = list(events)
        groups: dict[tuple[type[Base], frozenset[str]], list[dict[str, Any]]] = {}
        for row in (*(row for event in batch for row in journal_rows(event)), *_stream(self._session, batch)):
            values = _values(row)
            groups.setdefault((type(row), frozenset(values)), []).append(values)
        try:
            with self._engine.begin() as connection:
                # Core executemany per table and column set, no ORM unit of work (cheaper per
                # candle); the stream is inserted last, in batch order, so its seq follows the batch.
                for (table, _), rows in groups.items():
                    connection.execute(insert(table), rows)
        except SQLAlchemyError as exc:
            raise StorageError(f"journal append failed on {self._where()}: {exc}") from exc
        return len(batch)

    def read(self) -> Iterator[Event]:
        """This session's events in the order they were appended, each equal to the one appended.

        Reads page by page, so memory stays bounded however long the session; a stored event that
        no longer decodes raises :class:`StorageError` naming its type and field.
        """
        after = 0
        while True:
            page = self._read_page(after)
            for seq, event_type, payload in page:
                try:
                    yield decode_event(event_type, payload)
                except StorageError as exc:
                    raise StorageError(f"journal event {seq} of session {self._session!r}: {exc}") from exc
            if len(page) < _READ_PAGE_SIZE:
                return
            after = page[-1][0]

    def _read_page(self, after: int) -> list[tuple[int, str, dict[str, Any]]]:
        query = (
            select(EventRow.seq, EventRow.event_type, EventRow.payload)
            .where(EventRow.session == self._session, EventRow.seq > after)
            .order_by(EventRow.seq)
            .limit(_READ_PAGE_SIZE)
        )
        try:
            with self._engine.connect() as connection:
                return [(row.seq, row.event_type, row.payload) for row in connection.execute(query)]
        except SQLAlchemyError as exc:
            raise StorageError(f"journal read failed on {self._where()}: {exc}") from exc

    def _where(self) -> str:
        return f"{mask_password(self._engine.url)!r} (session {self._session!r})"
