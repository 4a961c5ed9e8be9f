"""Journal queries on SQLite and PostgreSQL, over journals a real engine wrote in several sessions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from tests.testkit.engine import H
from tests.testkit.journal import journal_signals, signal, trade_session, unique_name
from trading_agent.domain import InstrumentId
from trading_agent.services.errors import ServiceError
from trading_agent.services.journal_queries import JournalQueries, SignalStatus
from trading_agent.storage import create_database_engine


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def queries(db: Engine) -> JournalQueries:
    return JournalQueries(db)


@pytest.fixture
def instrument() -> InstrumentId:
    return InstrumentId("delta_india", unique_name("T"))


def test_trades_come_newest_first_per_session_and_across_sessions(
    db: Engine, queries: JournalQueries, instrument: InstrumentId
) -> None:
    first, second = unique_name("a"), unique_name("b")
    # closes of the first session at 2H, 4H, 6H; of the second at 3H, 5H: they interleave
    one = trade_session(db, first, instrument, [60_000, 60_300, 60_300, 60_100, 60_100, 60_150])
    two = trade_session(db, second, instrument, [61_000, 61_500, 61_500, 61_200], first_candle=1)
    assert (len(one.trades), len(two.trades)) == (3, 2)

    listed = queries.trades(first)
    assert [t.trade_id for t in listed] == [t.id for t in reversed(one.trades)]
    assert {t.session for t in listed} == {first}
    assert [t.ts_closed for t in queries.trades(second)] == [5 * H, 3 * H]

    everywhere = queries.trades(symbol=instrument.symbol)
    assert [t.ts_closed for t in everywhere] == [6 * H, 5 * H, 4 * H, 3 * H, 2 * H]
    assert [t.session for t in everywhere] == [first, second, first, second, first]
    assert [t.trade_id for t in queries.trades(symbol=instrument.symbol, limit=2)] == [
        one.trades[-1].id,
        two.trades[-1].id,
    ]
    assert len(queries.trades(first, limit=1)) == 1


def test_a_trade_reads_back_with_every_trade_log_field(
    db: Engine, queries: JournalQueries, instrument: InstrumentId
) -> None:
    session = unique_name("s")
    [trade] = trade_session(db, session, instrument, [60_000, 60_500]).trades
    [record] = queries.trades(session)
    assert (record.symbol, record.exchange, record.side, record.contracts) == (
        instrument.symbol,
        "delta_india",
        "long",
        2,
    )
    assert (record.entry_price, record.exit_price) == (Decimal(60_000), Decimal(60_500))
    assert (record.pnl, record.pnl_percent, record.fees, record.funding) == (
        trade.pnl,
        trade.pnl_percent,
        trade.fees,
        trade.funding,
    )
    assert record.pnl > 0 and record.fees > 0
    assert (record.ts_opened, record.ts_closed, record.holding_period_s) == (H, 2 * H, 3600.0)
    assert (record.event_type, record.exit_reason, record.signal_confidence) == ("closed", trade.exit_reason, 0.6)
    assert dict(record.market_conditions) == dict(trade.market_conditions)

    data = json.loads(json.dumps(record.to_dict()))  # JSON-ready as it is
    assert data["pnl"] == str(trade.pnl) and Decimal(data["pnl"]) == trade.pnl
    assert (data["ts_closed"], data["ts_closed_iso"]) == (2 * H, "1970-01-01T02:00:00.000+00:00")
    assert data["session"] == session and data["event_type"] == "closed"


def test_the_symbol_filter_keeps_to_its_symbol(db: Engine, queries: JournalQueries, instrument: InstrumentId) -> None:
    session, other_session = unique_name("s"), unique_name("s")
    other = InstrumentId("delta_india", unique_name("U"))
    trade_session(db, session, instrument, [60_000, 60_100])
    trade_session(db, other_session, other, [3_000, 3_100, 3_100, 3_000])
    assert [t.symbol for t in queries.trades(symbol=other.symbol)] == [other.symbol, other.symbol]
    assert queries.trades(session, symbol=other.symbol) == []
    assert [t.session for t in queries.trades(session, symbol=instrument.symbol)] == [session]


def test_signals_come_once_each_with_the_filters_that_refused_them(
    db: Engine, queries: JournalQueries, instrument: InstrumentId
) -> None:
    session, other_session = unique_name("s"), unique_name("s")
    journal_signals(
        db,
        session,
        [
            (signal(instrument, 1 * H), ()),
            (signal(instrument, 3 * H, confidence=0.3), ("min_confidence", "paused")),
            (signal(instrument, 2 * H), ()),  # journaled late: listed by its ts, not by append order
            (signal(instrument, 3 * H, confidence=0.8), ()),  # same ts, journaled later: listed first
        ],
    )
    # the other session filtered a signal at 1H of the same instrument: not a filter of this session's
    journal_signals(db, other_session, [(signal(instrument, 1 * H), ("cooldown",))])

    listed = queries.signals(session)
    assert [(s.ts, s.confidence) for s in listed] == [(3 * H, 0.8), (3 * H, 0.3), (2 * H, 0.6), (1 * H, 0.6)]
    # both signals at 3H share the instrument and ts, so the filtered row marks both: the journal cannot tell them apart
    assert [s.filtered_by for s in listed] == [("min_confidence", "paused")] * 2 + [(), ()]
    assert [s.status for s in listed][2:] == [SignalStatus.GENERATED] * 2
    assert listed[1].status is SignalStatus.FILTERED
    assert {s.session for s in listed} == {session}

    [elsewhere] = queries.signals(other_session)
    assert (elsewhere.ts, elsewhere.filtered_by, elsewhere.status) == (H, ("cooldown",), SignalStatus.FILTERED)
    assert [s.ts for s in queries.signals(session, include_filtered=False)] == [2 * H, 1 * H]
    assert [s.ts for s in queries.signals(session, limit=2)] == [3 * H, 3 * H]

    everywhere = queries.signals(symbol=instrument.symbol)
    assert [(s.ts, s.session) for s in everywhere][-2:] in (
        [(H, session), (H, other_session)],
        [(H, other_session), (H, session)],
    )
    assert len(everywhere) == 5
    assert len(queries.signals(symbol=instrument.symbol, include_filtered=False)) == 2

    data = json.loads(json.dumps(listed[1].to_dict()))
    assert (data["status"], data["filtered_by"], data["ts_iso"]) == (
        "filtered",
        ["min_confidence", "paused"],
        "1970-01-01T03:00:00.000+00:00",
    )
    assert data["model_votes"] == {"lightgbm": 0.62, "lstm": 0.58} and data["direction"] == "long"


def test_sessions_are_listed_with_their_event_counts(
    db: Engine, queries: JournalQueries, instrument: InstrumentId
) -> None:
    session = unique_name("s")
    journal_signals(db, session, [(signal(instrument, H), ("paused",)), (signal(instrument, 4 * H), ())])
    [summary] = [s for s in queries.sessions() if s.session == session]
    assert (summary.events, summary.first_ts, summary.last_ts) == (3, H, 4 * H)
    assert summary.to_dict()["last_ts_iso"] == "1970-01-01T04:00:00.000+00:00"


def test_an_unknown_session_is_an_error_naming_the_known_ones(
    db: Engine, queries: JournalQueries, instrument: InstrumentId
) -> None:
    session = unique_name("s")
    journal_signals(db, session, [(signal(instrument, H), ())])
    for query in (queries.trades, queries.signals):
        with pytest.raises(ServiceError, match=r"no journal session 'nope'; sessions: .*" + session):
            query("nope")


def test_an_empty_database_has_no_trades_signals_or_sessions(sqlite_url: str) -> None:
    with JournalQueries.open(sqlite_url) as queries:
        assert (queries.trades(), queries.signals(), queries.sessions()) == ([], [], [])
        with pytest.raises(ServiceError, match="no journal session 'paper'; the journal is empty"):
            queries.trades("paper")


def test_bad_arguments_and_databases_are_service_errors(queries: JournalQueries) -> None:
    with pytest.raises(ServiceError, match="limit must be at least 1, got 0"):
        queries.trades(limit=0)
    with pytest.raises(ServiceError, match="limit must be at least 1"):
        queries.signals(limit=-1)
    with pytest.raises(ServiceError, match="unsupported database URL 'mysql://u:\\*\\*\\*@host/db'"):
        JournalQueries.open("mysql://u:secret@host/db")


def test_a_failing_query_is_a_service_error_naming_the_database(sqlite_url: str) -> None:
    with JournalQueries.open(sqlite_url) as queries:
        db = create_database_engine(sqlite_url)
        with db.begin() as connection:
            connection.execute(text("DROP TABLE trades"))
        db.dispose()
        with pytest.raises(ServiceError, match=r"journal trade query failed on 'sqlite:///.*test\.db': no such table"):
            queries.trades()
