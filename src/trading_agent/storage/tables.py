"""The schema as SQLAlchemy 2 typed declarative models (the migrations create exactly this).

Two families of tables:

- **Market data** (``candles``, ``funding_rates``): keyed by exchange/symbol[/timeframe]/ts, with
  no surrogate id; written and read in bulk by :mod:`trading_agent.storage.candles`. On SQLite,
  ``candles`` is a ``WITHOUT ROWID`` table: the rows live in the primary-key B-tree itself, so a
  series is stored contiguously in time order, a range load is one ordered scan, and there is no
  second B-tree (rowid table + PK index) to write on import. CHECK constraints keep impossible
  candles (non-positive price, negative volume) out whatever the writer.
- **Background jobs** (``backtest_jobs``): one row per backtest or walk-forward job an interface
  queued, updated as it runs, so a restart finds what was asked and what came of it.
- **The journal** (everything else): append-only facts. ``events`` is the canonical stream: every
  event of every session in append order (``seq``), as the JSON document
  :mod:`trading_agent.storage.event_codec` reads back into the identical event; the engine is
  rebuilt from it. The projection tables beside it hold one row per domain event in queryable
  columns, each with the event's unique ``event_id``, ``ts_event`` and ``ts_init`` (epoch ms
  UTC). Snapshot tables (``orders``, ``positions``) hold the state carried by each event, so the
  latest row per order or instrument is the current state. Money is exact (:class:`ExactDecimal`),
  sizes are whole contracts, enums are stored as their string values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar

from sqlalchemy import BigInteger, CheckConstraint, Double, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from trading_agent.storage.columns import JSON_DOCUMENT, ExactDecimal, key_string

__all__ = [
    "Base",
    "CandleRow",
    "EquitySnapshotRow",
    "EventRow",
    "FillRow",
    "FundingPaymentRow",
    "FundingRateRow",
    "JobRow",
    "JournalRow",
    "OrderRow",
    "PositionRow",
    "RiskEventRow",
    "SignalRow",
    "TradeRow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EpochMs = Annotated[int, mapped_column(BigInteger)]
SurrogateKey = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid
Venue = Annotated[str, mapped_column(key_string(64))]
Symbol = Annotated[str, mapped_column(key_string(64))]
Label = Annotated[str, mapped_column(String(32))]
JsonObject = Annotated[dict[str, Any], mapped_column(JSON_DOCUMENT)]


class Base(DeclarativeBase):
    """Declarative base; its ``metadata`` is the target of the migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {float: Double(), Decimal: ExactDecimal()}


class CandleRow(Base):
    """One OHLCV candle; ``ts`` is the open time."""

    __tablename__ = "candles"
    __table_args__ = (
        CheckConstraint("open > 0 AND high > 0 AND low > 0 AND close > 0", name="positive_prices"),
        CheckConstraint("volume >= 0", name="non_negative_volume"),
        {"sqlite_with_rowid": False},
    )

    exchange: Mapped[Venue] = mapped_column(primary_key=True)
    symbol: Mapped[Symbol] = mapped_column(primary_key=True)
    timeframe: Mapped[str] = mapped_column(key_string(8), primary_key=True)
    ts: Mapped[EpochMs] = mapped_column(primary_key=True)
    open: Mapped[float]
    high: Mapped[float]
    low: Mapped[float]
    close: Mapped[float]
    volume: Mapped[float]


class FundingRateRow(Base):
    """One funding settlement of a perpetual; ``funding_rate`` is a fraction per interval."""

    __tablename__ = "funding_rates"
    __table_args__ = ({"sqlite_with_rowid": False},)

    exchange: Mapped[Venue] = mapped_column(primary_key=True)
    symbol: Mapped[Symbol] = mapped_column(primary_key=True)
    ts: Mapped[EpochMs] = mapped_column(primary_key=True)
    funding_rate: Mapped[float]


class EventRow(Base):
    """One event of the canonical stream: ``payload`` is the whole event as a JSON document.

    ``seq`` orders the stream (across sessions; a session reads its own events in ``seq`` order
    through the ``(session, seq)`` index). ``event_id``, ``ts_event`` and ``ts_init`` repeat the
    payload's values for queries.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_session_seq", "session", "seq"),)

    seq: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    session: Mapped[str] = mapped_column(String(24))
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    ts_event: Mapped[EpochMs]
    ts_init: Mapped[EpochMs]
    payload: Mapped[JsonObject]


class JobRow(Base):
    """A background job: its id, kind and status in columns, the whole job (request, result) as JSON.

    ``seq`` orders the jobs by submission (newest last); the document is what the service layer
    reads back into its job view.
    """

    __tablename__ = "backtest_jobs"

    seq: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[Label]
    status: Mapped[Label] = mapped_column(index=True)
    document: Mapped[JsonObject]


class JournalRow(Base):
    """Columns every journal row has: a surrogate id and the event's identity and times."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, sort_order=-4)
    event_id: Mapped[str] = mapped_column(String(64), unique=True, sort_order=-3)
    ts_event: Mapped[EpochMs] = mapped_column(index=True, sort_order=-2)
    ts_init: Mapped[EpochMs] = mapped_column(sort_order=-1)


class SignalRow(JournalRow):
    """``SignalGenerated``: the ensemble's opinion with every model's vote."""

    __tablename__ = "signals"

    exchange: Mapped[Venue]
    symbol: Mapped[Symbol]
    ts: Mapped[EpochMs]
    direction: Mapped[Label]
    strength: Mapped[float]
    confidence: Mapped[float]
    model_votes: Mapped[JsonObject]
    regime: Mapped[str | None] = mapped_column(String(64))
    anomaly: Mapped[bool]


class RiskEventRow(JournalRow):
    """Risk decisions, breakers and the agent's controls: ``kind`` is approved, rejected, breaker_tripped,
    breaker_reset, signal_filtered or control.

    ``name`` is the breaker (or the control command); ``violations`` the limits a rejected intent
    broke (or the filters that refused a signal); ``payload`` the intent (or the signal, or the
    control's ``value``) as JSON (decimals as strings).
    """

    __tablename__ = "risk_events"

    kind: Mapped[Label] = mapped_column(index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    exchange: Mapped[str | None] = mapped_column(key_string(64))
    symbol: Mapped[str | None] = mapped_column(key_string(64))
    violations: Mapped[list[str] | None] = mapped_column(JSON_DOCUMENT)
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT)


class OrderRow(JournalRow):
    """An order as it stood after ``event_type``.

    ``event_type`` is submitted, accepted, rejected, canceled, amended, fill_refused or filled;
    ``role`` is why the order exists (entry, stop_loss, ...; rows written before it was recorded
    say entry).
    """

    __tablename__ = "orders"

    event_type: Mapped[Label]
    role: Mapped[Label] = mapped_column(server_default="entry")
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    client_order_id: Mapped[str | None] = mapped_column(String(64))
    exchange: Mapped[Venue]
    symbol: Mapped[Symbol]
    side: Mapped[Label]
    order_type: Mapped[Label]
    contracts: Mapped[int] = mapped_column(BigInteger)
    limit_price: Mapped[Decimal | None]
    stop_price: Mapped[Decimal | None]
    reduce_only: Mapped[bool]
    stop_loss: Mapped[Decimal | None]
    take_profit: Mapped[Decimal | None]
    leverage: Mapped[Decimal]
    status: Mapped[Label]
    ts_created: Mapped[EpochMs]
    ts_updated: Mapped[EpochMs]
    filled_contracts: Mapped[int] = mapped_column(BigInteger)
    avg_fill_price: Mapped[Decimal | None]
    reject_reason: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class FillRow(JournalRow):
    """One execution; ``trade_id`` is unique, so a fill can never be journaled twice."""

    __tablename__ = "fills"

    trade_id: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    exchange: Mapped[Venue]
    symbol: Mapped[Symbol]
    side: Mapped[Label]
    contracts: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[Decimal]
    fee: Mapped[Decimal]
    liquidity: Mapped[Label]
    ts: Mapped[EpochMs]


class PositionRow(JournalRow):
    """A position as it stood after ``event_type`` (opened or changed)."""

    __tablename__ = "positions"

    event_type: Mapped[Label]
    exchange: Mapped[Venue]
    symbol: Mapped[Symbol]
    side: Mapped[Label]
    contracts: Mapped[int] = mapped_column(BigInteger)
    entry_price: Mapped[Decimal]
    leverage: Mapped[Decimal]
    margin: Mapped[Decimal]
    liquidation_price: Mapped[Decimal | None]
    ts_opened: Mapped[EpochMs]
    realized_pnl: Mapped[Decimal]
    fees: Mapped[Decimal]
    funding: Mapped[Decimal]


class TradeRow(JournalRow):
    """A closed round trip (``event_type`` closed or liquidated): the blueprint's trade log."""

    __tablename__ = "trades"

    event_type: Mapped[Label]
    trade_id: Mapped[str] = mapped_column(String(64), unique=True)
    exchange: Mapped[Venue]
    symbol: Mapped[Symbol]
    side: Mapped[Label]
    contracts: Mapped[int] = mapped_column(BigInteger)
    entry_price: Mapped[Decimal]
    exit_price: Mapped[Decimal]
    pnl: Mapped[Decimal]
    pnl_percent: Mapped[Decimal]
    fees: Mapped[Decimal]
    funding: Mapped[Decimal]
    ts_opened: Mapped[EpochMs]
    ts_closed: Mapped[EpochMs] = mapped_column(index=True)
    holding_period_s: Mapped[float]
    exit_reason: Mapped[str] = mapped_column(String(64))
    signal_confidence: Mapped[float | None]
    model_predictions: Mapped[JsonObject]
    market_conditions: Mapped[JsonObject]


class FundingPaymentRow(JournalRow):
    """``FundingApplied``: funding paid (positive ``amount``) or received on an open position."""

    __tablename__ = "funding_payments"

    exchange: Mapped[Venue]
    symbol: Mapped[Symbol]
    rate_ts: Mapped[EpochMs]
    rate: Mapped[float]
    amount: Mapped[Decimal]


class EquitySnapshotRow(JournalRow):
    """``EquitySnapshotTaken``: the account, with its open positions and its marks as JSON.

    ``fees`` and ``funding`` are what the account paid so far; ``marks`` the last candle and close
    of each instrument (rows written before they were recorded say 0 and ``[]``).
    """

    __tablename__ = "equity_snapshots"

    ts: Mapped[EpochMs] = mapped_column(index=True)
    cash: Mapped[Decimal]
    equity: Mapped[Decimal]
    unrealized_pnl: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]
    peak_equity: Mapped[Decimal]
    day_start_equity: Mapped[Decimal]
    consecutive_losses: Mapped[int]
    trades_today: Mapped[int]
    last_trade_ts: Mapped[int | None] = mapped_column(BigInteger)
    positions: Mapped[list[dict[str, Any]]] = mapped_column(JSON_DOCUMENT)
    fees: Mapped[Decimal] = mapped_column(server_default="0")
    funding: Mapped[Decimal] = mapped_column(server_default="0")
    marks: Mapped[list[dict[str, Any]]] = mapped_column(JSON_DOCUMENT, server_default="[]")
