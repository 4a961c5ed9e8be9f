"""The journal on SQLite and PostgreSQL: every domain event maps to rows that read back exactly."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from trading_agent.domain import (
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
    Liquidity,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderId,
    OrderIntent,
    OrderRejected,
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
    SignalGenerated,
    Trade,
    TradeId,
)
from trading_agent.domain import events as domain_events
from trading_agent.domain.market import Candle, SeriesKey
from trading_agent.storage import SqlJournal, StorageError, journal_rows
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

Row = TypeVar("Row", bound=JournalRow)

T0 = 1_719_000_000_000
TINY = Decimal("0.00000001")
HUGE = Decimal("123456789012345.123456789")


@pytest.fixture
def journal(engine: Engine) -> SqlJournal:
    return SqlJournal(engine)


def sample_events(instrument: InstrumentId) -> dict[type[Event], Event]:
    """One event of every concrete type, with awkward decimals (tiny, huge, trailing zeros)."""
    suffix = instrument.symbol
    series = SeriesKey.of(instrument.venue, instrument.symbol, "1h")
    intent = OrderIntent(
        instrument=instrument,
        side=Side.BUY,
        contracts=3,
        order_type=OrderType.LIMIT,
        limit_price=Decimal("65000.50"),
        stop_loss=Decimal("64000"),
        take_profit=HUGE,
        leverage=Decimal("5"),
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
        model_predictions={"xgboost": 0.66, "lstm": 0.58},
        market_conditions={"atr": 412.5},
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
    )
    signal = Signal(
        instrument=instrument,
        ts=T0,
        direction=Direction.LONG,
        strength=0.4,
        confidence=0.71,
        model_votes={"xgboost": 0.66, "lstm": 0.58},
        regime="trending",
    )
    events: list[Event] = [
        CandleClosed(ts_event=T0, series=series, candle=Candle(T0, 1, 2, 1, 2, 3)),
        FeedGapBackfilled(ts_event=T0, series=series, missing=2),
        SignalGenerated(ts_event=T0, signal=signal),
        RiskApproved(ts_event=T0, intent=intent),
        RiskRejected(ts_event=T0, intent=intent, violations=("max_leverage", "daily_loss")),
        OrderSubmitted(ts_event=T0, order=order),
        OrderAccepted(ts_event=T0, order=order),
        OrderRejected(ts_event=T0, order=order, reason="insufficient margin"),
        OrderCanceled(ts_event=T0, order=order, reason="user"),
        OrderFilled(ts_event=T0 + 1, order=filled, fill=fill),
        PositionOpened(ts_event=T0 + 1, position=position),
        PositionChanged(ts_event=T0 + 2, position=position),
        PositionClosed(ts_event=T0 + 3_600_000, trade=trade),
        PositionLiquidated(ts_event=T0 + 3_600_000, trade=replace(trade, id=TradeId(f"l-{suffix}"))),
        FundingApplied(ts_event=T0, instrument=instrument, rate=FundingRate(T0, -0.000125), amount=Decimal("-0.0081")),
        CircuitBreakerTripped(ts_event=T0, breaker="daily_loss", reason="-5.2% today"),
        CircuitBreakerReset(ts_event=T0, breaker="daily_loss", reason="new UTC day"),
        EquitySnapshotTaken(ts_event=T0, state=state),
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
    assert journal.append(samples.values()) == 17  # 16 journaled events, OrderFilled writes two rows

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
