"""The journal on SQLite and PostgreSQL: events read back identical and in order; their rows read back exactly."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.testkit.instruments import BTCUSD_ID
from trading_agent.domain import (
    AgentCommand,
    AgentControlled,
    AnomalyAction,
    CandleClosed,
    CircuitBreakerReset,
    CircuitBreakerTripped,
    Direction,
    EquitySnapshotTaken,
    Event,
    FeedGapBackfilled,
    Fill,
    FundingApplied,
    FundingRate,
    InstrumentId,
    InstrumentMark,
    Liquidity,
    MarketAnomaly,
    ModelDrift,
    Order,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderFillRefused,
    OrderId,
    OrderIntent,
    OrderRejected,
    OrderRole,
    OrderStatus,
    OrderSubmitted,
    OrderType,
    PortfolioState,
    Position,
    PositionChanged,
    PositionClosed,
    PositionLiquidated,
    PositionOpened,
    PositionSide,
    RiskApproved,
    RiskRejected,
    Side,
    Signal,
    SignalFiltered,
    SignalGenerated,
    Trade,
    TradeId,
)
from trading_agent.domain import events as domain_events
from trading_agent.domain.market import Candle, SeriesKey
from trading_agent.storage import SqlJournal, StorageError, create_database_engine, journal_rows
from trading_agent.storage.tables import (
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

Row = TypeVar("Row", bound=JournalRow)

T0 = 1_719_000_000_000
TINY = Decimal("0.00000001")
HUGE = Decimal("123456789012345.123456789")


@pytest.fixture
def journal(engine: Engine) -> SqlJournal:
    return SqlJournal(engine)


def sample_events(instrument: InstrumentId, suffix: str | None = None) -> dict[type[Event], Event]:
    """One event of every concrete type, with awkward decimals (tiny, huge, trailing zeros) and floats.

    Order and trade ids end in ``suffix`` (default: the instrument's symbol), which keeps them unique
    in the run's shared PostgreSQL database. Mappings list their keys in the order PostgreSQL's
    ``JSONB`` keeps them (shorter first, then bytewise): mappings compare equal in any order, and
    this way a repr comparison of read-back events sees every other difference.
    """
    suffix = suffix or instrument.symbol
    series = SeriesKey.of(instrument.venue, instrument.symbol, "1h")
    signal = Signal(
        instrument=instrument,
        ts=T0,
        direction=Direction.LONG,
        strength=0.4,
        confidence=0.7000000000000001,
        model_votes={"lstm": 0.58, "xgboost": 0.66},
        regime="trending",
    )
    intent = OrderIntent(
        instrument=instrument,
        side=Side.BUY,
        contracts=3,
        order_type=OrderType.LIMIT,
        limit_price=Decimal("65000.50"),
        stop_loss=Decimal("64000"),
        take_profit=HUGE,
        leverage=Decimal("5"),
        stop_distance=Decimal("400.50"),
        signal=signal,
    )
    order = Order(id=OrderId(f"o-{suffix}"), intent=intent, status=OrderStatus.SUBMITTED, ts_created=T0, ts_updated=T0)
    filled = Order(
        id=order.id,
        intent=intent,
        status=OrderStatus.FILLED,
        ts_created=T0,
        ts_updated=T0 + 1,
        filled_contracts=3,
        avg_fill_price=Decimal("65000.50"),
    )
    stop_loss = OrderIntent(
        instrument=instrument,
        side=Side.SELL,
        contracts=3,
        order_type=OrderType.STOP_MARKET,
        stop_price=Decimal("64100.5"),
        reduce_only=True,
        role=OrderRole.STOP_LOSS,
    )
    trailed = Order(
        id=OrderId(f"sl-{suffix}"), intent=stop_loss, status=OrderStatus.ACCEPTED, ts_created=T0, ts_updated=T0
    )
    fill = Fill(
        trade_id=TradeId(f"f-{suffix}"),
        order_id=order.id,
        instrument=instrument,
        side=Side.BUY,
        contracts=3,
        price=Decimal("65000.50"),
        fee=TINY,
        liquidity=Liquidity.MAKER,
        ts=T0 + 1,
    )
    position = Position(
        instrument=instrument,
        side=PositionSide.LONG,
        contracts=3,
        entry_price=Decimal("65000.50"),
        leverage=Decimal("5"),
        margin=Decimal("39.0003"),
        liquidation_price=None,
        ts_opened=T0 + 1,
        fees=TINY,
    )
    trade = Trade(
        id=TradeId(f"t-{suffix}"),
        instrument=instrument,
        side=PositionSide.LONG,
        contracts=3,
        entry_price=Decimal("65000.50"),
        exit_price=Decimal("65100.00"),
        pnl=Decimal("-0.29850001"),
        pnl_percent=Decimal("-0.7654"),
        fees=TINY,
        funding=Decimal("0.0012"),
        ts_opened=T0 + 1,
        ts_closed=T0 + 3_600_000,
        exit_reason="take_profit",
        signal_confidence=0.71,
        model_predictions={"lstm": 0.58, "xgboost": 0.66},
        market_conditions={"atr": 412.5, "huge": 1.7976931348623157e308, "tiny": 5e-324, "zero": -0.0},
    )
    state = PortfolioState(
        ts=T0,
        cash=HUGE,
        equity=Decimal("10000.00"),
        unrealized_pnl=Decimal("-1.5"),
        realized_pnl=Decimal("0"),
        peak_equity=Decimal("10500"),
        day_start_equity=Decimal("9999.99"),
        positions=(position,),
        last_trade_ts=T0 - 1,
        fees=TINY,
        funding=Decimal("-0.0081"),
    )
    mark = InstrumentMark(instrument=instrument, candle_ts=T0, price=Decimal("65000.50"))
    events: list[Event] = [
        CandleClosed(ts_event=T0, series=series, candle=Candle(T0, 1.0, 2.0, 1.0, 2.0, 1e16)),
        FeedGapBackfilled(ts_event=T0, series=series, missing=2),
        ModelDrift(ts_event=T0, model="lightgbm", short_accuracy=0.48, long_accuracy=0.55, threshold=0.05),
        MarketAnomaly(
            ts_event=T0, instrument=instrument, active=False, score=0.5, threshold=1.5, action=AnomalyAction.BLOCK
        ),
        SignalGenerated(ts_event=T0, signal=signal),
        SignalFiltered(ts_event=T0, signal=signal, reasons=("min_confidence", "paused")),
        AgentControlled(ts_event=T0, command=AgentCommand.SET_MODE, value="conservative", reason="telegram"),
        RiskApproved(ts_event=T0, intent=intent),
        RiskRejected(ts_event=T0, intent=intent, violations=("max_leverage", "daily_loss")),
        OrderSubmitted(ts_event=T0, order=order),
        OrderAccepted(ts_event=T0, order=order),
        OrderRejected(ts_event=T0, order=order, reason="insufficient margin"),
        OrderCanceled(ts_event=T0, order=order, reason="user"),
        OrderAmended(ts_event=T0, order=trailed, reason="trailing stop moved"),
        OrderFillRefused(ts_event=T0, order=order, reason="slippage over the limit", attempt=2),
        OrderFilled(ts_event=T0 + 1, order=filled, fill=fill),
        PositionOpened(ts_event=T0 + 1, position=position),
        PositionChanged(ts_event=T0 + 2, position=position),
        PositionClosed(ts_event=T0 + 3_600_000, trade=trade),
        PositionLiquidated(ts_event=T0 + 3_600_000, trade=replace(trade, id=TradeId(f"l-{suffix}"))),
        FundingApplied(ts_event=T0, instrument=instrument, rate=FundingRate(T0, -0.000125), amount=Decimal("-0.0081")),
        CircuitBreakerTripped(ts_event=T0, breaker="daily_loss", reason="-5.2% today"),
        CircuitBreakerReset(ts_event=T0, breaker="daily_loss", reason="new UTC day"),
        EquitySnapshotTaken(ts_event=T0, state=state, marks=(mark,)),
    ]
    return {type(event): event for event in events}


def test_every_event_type_has_a_journal_mapping(instrument: InstrumentId) -> None:
    concrete = {getattr(domain_events, name) for name in domain_events.__all__} - {Event}
    samples = sample_events(instrument)
    assert set(samples) == concrete
    for event in samples.values():
        rows = journal_rows(event)
        assert all(row.event_id == event.event_id for row in rows)
    assert journal_rows(samples[CandleClosed]) == []
    assert [type(row) for row in journal_rows(samples[OrderFilled])] == [OrderRow, FillRow]


def test_rows_read_back_exactly(journal: SqlJournal, engine: Engine, instrument: InstrumentId) -> None:
    samples = sample_events(instrument)
    assert journal.append(samples.values()) == len(samples)  # every event, whether or not it has projection rows

    def one(row_type: type[Row], event: Event) -> Row:
        with Session(engine) as session:
            return session.scalars(select(row_type).where(row_type.event_id == event.event_id)).one()

    filled: OrderFilled = samples[OrderFilled]  # type: ignore[assignment]
    fill_row = one(FillRow, filled)
    assert (fill_row.trade_id, fill_row.price, fill_row.fee, fill_row.liquidity) == (
        filled.fill.trade_id,
        Decimal("65000.50"),
        TINY,
        "maker",
    )
    order_row = one(OrderRow, filled)
    assert (order_row.status, order_row.take_profit, order_row.avg_fill_price, order_row.limit_price) == (
        "filled",
        HUGE,
        Decimal("65000.50"),
        Decimal("65000.50"),
    )
    assert order_row.stop_price is None
    assert one(OrderRow, samples[OrderCanceled]).reason == "user"
    assert (order_row.role, one(OrderRow, samples[OrderAmended]).event_type) == ("entry", "amended")

    closed: PositionClosed = samples[PositionClosed]  # type: ignore[assignment]
    trade_row = one(TradeRow, closed)
    assert trade_row.event_type == "closed"
    assert (trade_row.pnl, trade_row.pnl_percent, trade_row.fees) == (Decimal("-0.29850001"), Decimal("-0.7654"), TINY)
    assert trade_row.holding_period_s == 3_600 - 0.001
    assert trade_row.model_predictions == {"xgboost": 0.66, "lstm": 0.58}
    assert one(TradeRow, samples[PositionLiquidated]).event_type == "liquidated"

    rejected = one(RiskEventRow, samples[RiskRejected])
    assert (rejected.kind, rejected.violations) == ("rejected", ["max_leverage", "daily_loss"])
    assert rejected.payload is not None
    assert rejected.payload["take_profit"] == str(HUGE)
    assert rejected.payload["instrument"] == {"venue": instrument.venue, "symbol": instrument.symbol}
    tripped = one(RiskEventRow, samples[CircuitBreakerTripped])
    assert (tripped.kind, tripped.name, tripped.reason) == ("breaker_tripped", "daily_loss", "-5.2% today")

    filtered = one(RiskEventRow, samples[SignalFiltered])
    assert (filtered.kind, filtered.violations) == ("signal_filtered", ["min_confidence", "paused"])
    assert filtered.payload is not None
    assert filtered.payload["model_votes"] == {"xgboost": 0.66, "lstm": 0.58}
    control = one(RiskEventRow, samples[AgentControlled])
    assert (control.kind, control.name, control.reason, control.payload) == (
        "control",
        "set_mode",
        "telegram",
        {"value": "conservative"},
    )
    signal_row = one(SignalRow, samples[SignalGenerated])
    assert (signal_row.direction, signal_row.model_votes, signal_row.anomaly) == (
        "long",
        {"xgboost": 0.66, "lstm": 0.58},
        False,
    )
    position_row = one(PositionRow, samples[PositionChanged])
    assert (position_row.event_type, position_row.margin, position_row.liquidation_price) == (
        "changed",
        Decimal("39.0003"),
        None,
    )
    assert one(FundingPaymentRow, samples[FundingApplied]).amount == Decimal("-0.0081")
    snapshot = one(EquitySnapshotRow, samples[EquitySnapshotTaken])
    assert (snapshot.cash, snapshot.day_start_equity) == (HUGE, Decimal("9999.99"))
    assert snapshot.positions[0]["entry_price"] == "65000.50"


def test_a_repeated_event_fails_the_whole_append(journal: SqlJournal, engine: Engine, instrument: InstrumentId) -> None:
    samples = sample_events(instrument)
    signal = samples[SignalGenerated]
    journal.append([signal])
    with pytest.raises(StorageError, match="journal append failed"):
        journal.append([samples[RiskApproved], signal])
    with engine.connect() as connection:
        approved = select(func.count()).where(RiskEventRow.event_id == samples[RiskApproved].event_id)
        assert connection.execute(approved).scalar_one() == 0


PROJECTIONS: tuple[type[JournalRow], ...] = (
    SignalRow,
    RiskEventRow,
    OrderRow,
    FillRow,
    PositionRow,
    TradeRow,
    FundingPaymentRow,
    EquitySnapshotRow,
)


def unique_session() -> str:
    """A session name no other test uses (the tests share the run's PostgreSQL database)."""
    return f"s{uuid.uuid4().hex[:12]}"


# What one engine session journals, in the order of a trade's life.
LIFECYCLE: tuple[type[Event], ...] = (
    CandleClosed,
    SignalGenerated,
    RiskApproved,
    OrderSubmitted,
    OrderAccepted,
    OrderFillRefused,
    OrderFilled,
    PositionOpened,
    EquitySnapshotTaken,
    FeedGapBackfilled,
    OrderAmended,
    FundingApplied,
    PositionChanged,
    PositionClosed,
    CircuitBreakerTripped,
    CircuitBreakerReset,
)


def trading_session(session: str) -> list[Event]:
    """A realistic sequence on BTCUSD with the engine's event ids (the session and a sequence number)."""
    samples = sample_events(BTCUSD_ID, suffix=session)
    return [replace(samples[kind], event_id=f"{session}:{number}") for number, kind in enumerate(LIFECYCLE, 1)]


@pytest.fixture
def session_name() -> str:
    return unique_session()


def test_read_gives_back_every_event_identical_and_in_order(
    engine: Engine, database_url: str, session_name: str
) -> None:
    events = trading_session(session_name)
    journal = SqlJournal(engine, session_name)
    assert list(journal.read()) == []
    assert [journal.append(events[:1]), journal.append(events[1:9]), journal.append(events[9:])] == [1, 8, 7]
    reopened = create_database_engine(database_url)  # as after a crash: a new engine, a new journal
    try:
        read = list(SqlJournal(reopened, session_name).read())
    finally:
        reopened.dispose()
    assert read == events
    assert [repr(event) for event in read] == [repr(event) for event in events]  # same decimal exponents, same types


@pytest.mark.parametrize("page_size", [1, 5, 16, 17])
def test_read_pages_through_the_session(
    engine: Engine, page_size: int, monkeypatch: pytest.MonkeyPatch, session_name: str
) -> None:
    monkeypatch.setattr("trading_agent.storage.journal._READ_PAGE_SIZE", page_size)
    events = trading_session(session_name)  # 16 events: a short last page, an empty one, a single page
    journal = SqlJournal(engine, session_name)
    journal.append(events)
    assert list(journal.read()) == events


def test_each_session_reads_only_its_own_events(engine: Engine) -> None:
    first, second = unique_session(), unique_session()
    first_events, second_events = trading_session(first), trading_session(second)
    first_journal, second_journal = SqlJournal(engine, first), SqlJournal(engine, second)
    for start in range(0, len(first_events), 5):  # interleaved, as two engines on one database would write
        first_journal.append(first_events[start : start + 5])
        second_journal.append(second_events[start : start + 5])
    assert list(first_journal.read()) == first_events
    assert list(second_journal.read()) == second_events
    assert list(SqlJournal(engine, unique_session()).read()) == []


def rows_with_ids(engine: Engine, event_ids: list[str]) -> dict[str, int]:
    """Rows per table (the stream and every projection) of the events ``event_ids``."""
    tables: tuple[type[EventRow | JournalRow], ...] = (EventRow, *PROJECTIONS)
    with engine.connect() as connection:
        return {
            table.__tablename__: connection.execute(
                select(func.count()).select_from(table).where(table.event_id.in_(event_ids))
            ).scalar_one()
            for table in tables
        }


@pytest.mark.parametrize(
    "repeated",
    [0, 2],
    ids=["repeated event without projection rows", "repeated event with projection rows"],
)
def test_a_failing_append_changes_neither_the_stream_nor_the_projections(
    engine: Engine, session_name: str, repeated: int
) -> None:
    """A repeated CandleClosed breaks only the stream's unique event_id, a repeated RiskApproved a projection's too."""
    events = trading_session(session_name)
    journal = SqlJournal(engine, session_name)
    journal.append(events[:9])
    before = rows_with_ids(engine, [event.event_id for event in events])
    with pytest.raises(StorageError, match="journal append failed"):
        journal.append([*events[9:], events[repeated]])
    assert rows_with_ids(engine, [event.event_id for event in events]) == before
    assert (before["events"], before["orders"]) == (9, 4)
    assert list(journal.read()) == events[:9]


def test_a_session_name_must_fit_the_column(engine: Engine) -> None:
    with pytest.raises(StorageError, match="1-24 characters"):
        SqlJournal(engine, "s" * 25)
    with pytest.raises(StorageError, match="1-24 characters"):
        SqlJournal(engine, "")


def test_amends_refused_fills_roles_and_marks_land_in_the_projections(engine: Engine, session_name: str) -> None:
    events = trading_session(session_name)
    SqlJournal(engine, session_name).append(events)
    with Session(engine) as session:
        orders = session.scalars(
            select(OrderRow).where(OrderRow.order_id.like(f"%-{session_name}")).order_by(OrderRow.id)
        ).all()
        snapshot = session.scalars(
            select(EquitySnapshotRow).where(EquitySnapshotRow.event_id == f"{session_name}:9")
        ).one()
    assert [(row.event_type, row.role, row.reason) for row in orders] == [
        ("submitted", "entry", None),
        ("accepted", "entry", None),
        ("fill_refused", "entry", "slippage over the limit"),
        ("filled", "entry", None),
        ("amended", "stop_loss", "trailing stop moved"),
    ]
    assert orders[-1].stop_price == Decimal("64100.5")
    assert (snapshot.fees, snapshot.funding) == (TINY, Decimal("-0.0081"))
    [mark] = snapshot.marks
    assert (mark["instrument"], mark["candle_ts"], mark["price"]) == (
        {"venue": BTCUSD_ID.venue, "symbol": BTCUSD_ID.symbol},
        T0,
        "65000.50",
    )
