"""Read-only queries on the trading journal: closed trades, signals and the journal's sessions.

The projection tables (``trades``, ``signals``, ``risk_events``) carry no session: every query
joins the ``events`` stream on ``event_id`` to know which session wrote a row. A filtered signal
is journaled twice, as a ``signals`` row (``SignalGenerated``) and as a ``risk_events`` row of
kind ``signal_filtered`` whose payload is the signal; :meth:`JournalQueries.signals` reports it
once, with the filters that refused it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

from sqlalchemy import BigInteger, ColumnElement, Engine, and_, cast, exists, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from trading_agent.config import AppSettings
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.storage import create_database_engine, mask_password, migrate
from trading_agent.storage.tables import EquitySnapshotRow, EventRow, RiskEventRow, SignalRow, TradeRow

__all__ = ["EquityPoint", "JournalQueries", "SessionSummary", "SignalRecord", "SignalStatus", "TradeRecord"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SIGNAL_FILTERED = "signal_filtered"
_SignalKey = tuple[str, str | None, str | None, int]  # session, exchange, symbol, ts
Span = tuple[int, int]
"""A half-open range of epoch milliseconds, ``[start, end)``."""


def _iso_utc(ts_ms: int) -> str:
    """Epoch milliseconds as an ISO-8601 UTC timestamp (``2024-06-21T20:00:00.000+00:00``)."""
    return (_EPOCH + timedelta(milliseconds=ts_ms)).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeRecord:
    """A closed round trip as journaled: the blueprint's trade-log fields, plus where it came from.

    ``event_type`` is ``closed`` or ``liquidated``; ``pnl`` is net of ``fees`` and ``funding``;
    timestamps are epoch milliseconds (UTC).
    """

    session: str
    event_id: str
    trade_id: str
    exchange: str
    symbol: str
    side: str
    contracts: int
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    pnl_percent: Decimal
    fees: Decimal
    funding: Decimal
    ts_opened: int
    ts_closed: int
    holding_period_s: float
    exit_reason: str
    event_type: str
    signal_confidence: float | None
    model_predictions: Mapping[str, Any]
    market_conditions: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: decimals as exact strings, raw ms plus ``*_iso`` timestamps."""
        return {
            "session": self.session,
            "event_id": self.event_id,
            "trade_id": self.trade_id,
            "exchange": self.exchange,
            "symbol": self.symbol,
            "side": self.side,
            "contracts": self.contracts,
            "entry_price": str(self.entry_price),
            "exit_price": str(self.exit_price),
            "pnl": str(self.pnl),
            "pnl_percent": str(self.pnl_percent),
            "fees": str(self.fees),
            "funding": str(self.funding),
            "ts_opened": self.ts_opened,
            "ts_opened_iso": _iso_utc(self.ts_opened),
            "ts_closed": self.ts_closed,
            "ts_closed_iso": _iso_utc(self.ts_closed),
            "holding_period_s": self.holding_period_s,
            "exit_reason": self.exit_reason,
            "event_type": self.event_type,
            "signal_confidence": self.signal_confidence,
            "model_predictions": dict(self.model_predictions),
            "market_conditions": dict(self.market_conditions),
        }


class SignalStatus(StrEnum):
    """What became of a signal: ``generated`` (it passed the filters) or ``filtered``."""

    GENERATED = "generated"
    FILTERED = "filtered"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalRecord:
    """A generated signal; ``filtered_by`` names the filters that refused it (empty: it passed)."""

    session: str
    event_id: str
    exchange: str
    symbol: str
    ts: int
    direction: str
    strength: float
    confidence: float
    model_votes: Mapping[str, float]
    regime: str | None
    anomaly: bool
    filtered_by: tuple[str, ...] = ()

    @property
    def status(self) -> SignalStatus:
        """``filtered`` when a filter refused the signal, else ``generated``."""
        return SignalStatus.FILTERED if self.filtered_by else SignalStatus.GENERATED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, with ``status`` and ``ts_iso``."""
        return {
            "session": self.session,
            "event_id": self.event_id,
            "exchange": self.exchange,
            "symbol": self.symbol,
            "ts": self.ts,
            "ts_iso": _iso_utc(self.ts),
            "direction": self.direction,
            "strength": self.strength,
            "confidence": self.confidence,
            "model_votes": dict(self.model_votes),
            "regime": self.regime,
            "anomaly": self.anomaly,
            "status": self.status.value,
            "filtered_by": list(self.filtered_by),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EquityPoint:
    """The account's equity at one snapshot (epoch ms, market time), and whether a position was open."""

    ts: int
    equity: Decimal
    in_position: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSummary:
    """A journal session: how many events it wrote and the market times of its first and last."""

    session: str
    events: int
    first_ts: int
    last_ts: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, with ``*_iso`` timestamps."""
        return {
            "session": self.session,
            "events": self.events,
            "first_ts": self.first_ts,
            "first_ts_iso": _iso_utc(self.first_ts),
            "last_ts": self.last_ts,
            "last_ts_iso": _iso_utc(self.last_ts),
        }


def _filtered_ts() -> ColumnElement[int]:
    # The filtered signal's ts lives in its JSON payload; BIGINT, since ms overflow PostgreSQL's INTEGER.
    return cast(RiskEventRow.payload["ts"].as_string(), BigInteger)


class JournalQueries:
    """Queries on the journal of one database. Opening it migrates the schema (an empty database has no rows).

    Every method raises :class:`ServiceError`: for a named session the journal does not have (the
    message lists the sessions it has), a ``limit`` below 1, or a database failure.
    """

    def __init__(self, engine: Engine, *, owns_engine: bool = False) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        with self._database("migration"), service_errors():
            migrate(engine)

    @classmethod
    def open(cls, url: str) -> JournalQueries:
        """Queries on the database at ``url``; :meth:`close` (or ``with``) disposes of its engine."""
        with service_errors():
            engine = create_database_engine(url)
        try:
            return cls(engine, owns_engine=True)
        except ServiceError:
            engine.dispose()
            raise

    @classmethod
    def from_settings(cls, settings: AppSettings) -> JournalQueries:
        """Queries on the configured database (``database_url``)."""
        return cls.open(settings.database_url)

    def close(self) -> None:
        """Dispose of the engine if :meth:`open` made it (an engine passed in stays open)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def ping(self) -> None:
        """Reach the database (``ServiceError`` when it does not answer)."""
        with self._database("health check"), self._engine.connect() as connection:
            connection.execute(select(1))

    def sessions(self) -> list[SessionSummary]:
        """Every session in the journal, by name."""
        query = (
            select(EventRow.session, func.count(), func.min(EventRow.ts_event), func.max(EventRow.ts_event))
            .group_by(EventRow.session)
            .order_by(EventRow.session)
        )
        with self._database("session listing"), Session(self._engine) as db:
            rows = db.execute(query).all()
        return [
            SessionSummary(session=name, events=count, first_ts=first, last_ts=last)
            for name, count, first, last in rows
        ]

    def trades(
        self,
        session: str | None = None,
        *,
        symbol: str | None = None,
        limit: int | None = 50,
        between: Span | None = None,
    ) -> list[TradeRecord]:
        """The ``limit`` (None: all) most recently closed trades (of one session, or of all; of one symbol, or of all).

        Newest first by ``ts_closed``, ties in journal order (the later event first); ``between``:
        only those closed in ``[start, end)`` (epoch ms).
        """
        _check_limit(limit)
        query = (
            select(TradeRow, EventRow.session)
            .join(EventRow, EventRow.event_id == TradeRow.event_id)
            .where(*_scope(session, TradeRow.symbol, symbol), *_within(TradeRow.ts_closed, between))
            .order_by(TradeRow.ts_closed.desc(), EventRow.seq.desc())
            .limit(limit)
        )
        with self._database("trade query"), Session(self._engine) as db:
            self._check_session(db, session)
            rows = db.execute(query).all()
        return [_trade_record(row) for row in rows]

    def signals(
        self,
        session: str | None = None,
        *,
        symbol: str | None = None,
        limit: int | None = 50,
        include_filtered: bool = True,
        between: Span | None = None,
    ) -> list[SignalRecord]:
        """The ``limit`` latest generated signals, each once, with the filters that refused it if any.

        Newest first by the signal's ``ts``, ties in journal order (the later event first). A signal
        counts as filtered when its session journaled a ``SignalFiltered`` for the same instrument
        and ``ts``; without ``include_filtered`` only the signals that passed are listed; ``between``:
        only those of candles opened in ``[start, end)`` (epoch ms).
        """
        _check_limit(limit)
        conditions = _scope(session, SignalRow.symbol, symbol) + _within(SignalRow.ts, between)
        if not include_filtered:
            conditions.append(~_is_filtered())
        query = (
            select(SignalRow, EventRow.session)
            .join(EventRow, EventRow.event_id == SignalRow.event_id)
            .where(*conditions)
            .order_by(SignalRow.ts.desc(), EventRow.seq.desc())
            .limit(limit)
        )
        with self._database("signal query"), Session(self._engine) as db:
            self._check_session(db, session)
            rows = db.execute(query).all()
            reasons = _filter_reasons(db, [(row.session, row.SignalRow) for row in rows])
        return [_signal_record(row.SignalRow, row.session, reasons) for row in rows]

    def equity_curve(self, session: str) -> list[EquityPoint]:
        """The session's equity snapshots in journal order (the engine takes one at the end of each candle's step)."""
        query = (
            select(EquitySnapshotRow.ts, EquitySnapshotRow.equity, EquitySnapshotRow.positions)
            .join(EventRow, EventRow.event_id == EquitySnapshotRow.event_id)
            .where(EventRow.session == session)
            .order_by(EventRow.seq)
        )
        with self._database("equity query"), Session(self._engine) as db:
            self._check_session(db, session)
            rows = db.execute(query).all()
        return [EquityPoint(ts=ts, equity=equity, in_position=bool(positions)) for ts, equity, positions in rows]

    def _check_session(self, db: Session, session: str | None) -> None:
        if session is None:
            return
        found = db.execute(select(EventRow.seq).where(EventRow.session == session).limit(1)).first()
        if found is None:
            names = db.scalars(select(EventRow.session).distinct().order_by(EventRow.session)).all()
            known = f"sessions: {', '.join(names)}" if names else "the journal is empty"
            raise ServiceError(f"no journal session {session!r}; {known}")

    @contextmanager
    def _database(self, action: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise ServiceError(f"journal {action} failed on {mask_password(self._engine.url)!r}: {reason}") from None


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise ServiceError(f"limit must be at least 1, got {limit}")


def _scope(
    session: str | None, symbol_column: InstrumentedAttribute[str], symbol: str | None
) -> list[ColumnElement[bool]]:
    conditions = [] if session is None else [EventRow.session == session]
    return conditions if symbol is None else [*conditions, symbol_column == symbol]


def _within(column: InstrumentedAttribute[int], between: Span | None) -> list[ColumnElement[bool]]:
    return [] if between is None else [column >= between[0], column < between[1]]


def _is_filtered() -> ColumnElement[bool]:
    filtered_event = aliased(EventRow)
    return exists(
        select(RiskEventRow.id)
        .join(filtered_event, filtered_event.event_id == RiskEventRow.event_id)
        .where(
            and_(
                RiskEventRow.kind == _SIGNAL_FILTERED,
                filtered_event.session == EventRow.session,
                RiskEventRow.exchange == SignalRow.exchange,
                RiskEventRow.symbol == SignalRow.symbol,
                _filtered_ts() == SignalRow.ts,
            )
        )
    )


def _filter_reasons(db: Session, signals: Sequence[tuple[str, SignalRow]]) -> dict[_SignalKey, tuple[str, ...]]:
    if not signals:
        return {}
    ts = _filtered_ts()
    query = (
        select(EventRow.session, RiskEventRow.exchange, RiskEventRow.symbol, ts.label("ts"), RiskEventRow.violations)
        .join(EventRow, EventRow.event_id == RiskEventRow.event_id)
        .where(
            RiskEventRow.kind == _SIGNAL_FILTERED,
            EventRow.session.in_({session for session, _ in signals}),
            RiskEventRow.symbol.in_({row.symbol for _, row in signals}),
            ts.between(min(row.ts for _, row in signals), max(row.ts for _, row in signals)),
        )
        .order_by(EventRow.seq)
    )
    reasons: dict[_SignalKey, tuple[str, ...]] = {}
    for session, exchange, symbol, signal_ts, violations in db.execute(query):
        key = (session, exchange, symbol, signal_ts)
        known = reasons.get(key, ())
        reasons[key] = known + tuple(v for v in violations or () if v not in known)
    return reasons


def _trade_record(row: Any) -> TradeRecord:
    trade: TradeRow = row.TradeRow
    return TradeRecord(
        session=row.session,
        event_id=trade.event_id,
        trade_id=trade.trade_id,
        exchange=trade.exchange,
        symbol=trade.symbol,
        side=trade.side,
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
        event_type=trade.event_type,
        signal_confidence=trade.signal_confidence,
        model_predictions=trade.model_predictions,
        market_conditions=trade.market_conditions,
    )


def _signal_record(signal: SignalRow, session: str, reasons: Mapping[_SignalKey, tuple[str, ...]]) -> SignalRecord:
    return SignalRecord(
        session=session,
        event_id=signal.event_id,
        exchange=signal.exchange,
        symbol=signal.symbol,
        ts=signal.ts,
        direction=signal.direction,
        strength=signal.strength,
        confidence=signal.confidence,
        model_votes=signal.model_votes,
        regime=signal.regime,
        anomaly=signal.anomaly,
        filtered_by=reasons.get((session, signal.exchange, signal.symbol, signal.ts), ()),
    )
