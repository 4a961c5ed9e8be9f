"""SqlCandleStore on SQLite and PostgreSQL: upsert idempotence, ranges, listing, funding, atomicity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from trading_agent.domain import InstrumentId, SeriesKey
from trading_agent.storage import InvalidFrameError, SqlCandleStore, StorageError
from trading_agent.storage.tables import CandleRow

MINUTE_MS = 60_000


def count_rows(engine: Engine, series: SeriesKey) -> int:
    query = (
        select(func.count())
        .select_from(CandleRow)
        .where(CandleRow.exchange == series.instrument.venue, CandleRow.symbol == series.instrument.symbol)
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_round_trip_is_exact(store: SqlCandleStore, series_key: SeriesKey, make_candles) -> None:
    frame = make_candles(5_000)
    assert store.upsert_candles(series_key, frame) == 5_000
    loaded = store.load_candles(series_key)
    pd.testing.assert_frame_equal(loaded, frame)
    assert loaded.index.name == "time"
    assert str(loaded.index.tz) == "UTC"
    assert list(loaded.dtypes) == [np.dtype("float64")] * 5


def test_reimport_changes_nothing(store: SqlCandleStore, engine: Engine, series_key: SeriesKey, make_candles) -> None:
    frame = make_candles(2_000)
    store.upsert_candles(series_key, frame)
    assert store.upsert_candles(series_key, frame) == 0
    assert count_rows(engine, series_key) == 2_000
    pd.testing.assert_frame_equal(store.load_candles(series_key), frame)


def test_upsert_updates_changed_rows_and_appends_new_ones(
    store: SqlCandleStore, engine: Engine, series_key: SeriesKey, make_candles
) -> None:
    revised = make_candles(1_500)
    store.upsert_candles(series_key, revised.iloc[:1_000])
    revised.iloc[10, revised.columns.get_loc("close")] += 1.0
    revised.iloc[20, revised.columns.get_loc("volume")] = 0.0

    assert store.upsert_candles(series_key, revised) == 2 + 500
    assert count_rows(engine, series_key) == 1_500
    pd.testing.assert_frame_equal(store.load_candles(series_key), revised)


def test_range_loading_is_half_open(store: SqlCandleStore, series_key: SeriesKey, make_candles) -> None:
    frame = make_candles(100)
    store.upsert_candles(series_key, frame)
    ts = frame.index.as_unit("ms").asi8

    window = store.load_candles(series_key, start_ms=int(ts[10]), end_ms=int(ts[20]))
    pd.testing.assert_frame_equal(window, frame.iloc[10:20])
    pd.testing.assert_frame_equal(store.load_candles(series_key, start_ms=int(ts[95])), frame.iloc[95:])
    pd.testing.assert_frame_equal(store.load_candles(series_key, end_ms=int(ts[3])), frame.iloc[:3])


def test_unknown_series_or_empty_range_gives_an_empty_frame(store: SqlCandleStore, series_key: SeriesKey) -> None:
    empty = store.load_candles(series_key)
    assert empty.empty
    assert list(empty.columns) == ["open", "high", "low", "close", "volume"]
    assert isinstance(empty.index, pd.DatetimeIndex)
    assert str(empty.index.tz) == "UTC"


def test_series_are_kept_apart(store: SqlCandleStore, series_key: SeriesKey, make_candles) -> None:
    hourly = SeriesKey(series_key.instrument, series_key.timeframe.parse("1h"))
    store.upsert_candles(series_key, make_candles(50, seed=1))
    store.upsert_candles(hourly, make_candles(30, step_ms=60 * MINUTE_MS, seed=2))
    assert len(store.load_candles(series_key)) == 50
    assert len(store.load_candles(hourly)) == 30


def test_list_series_reports_counts_and_ranges(
    store: SqlCandleStore, series_key: SeriesKey, instrument: InstrumentId, make_candles
) -> None:
    frame = make_candles(42)
    store.upsert_candles(series_key, frame)
    funding = pd.DataFrame({"funding_rate": [0.0001, -0.0002]}, index=frame.index[[0, 8]])
    store.upsert_funding(instrument, funding)
    ts = frame.index.as_unit("ms").asi8

    listed = {(info.kind, info.instrument, info.timeframe): info for info in store.list_series()}

    candles = listed[("candles", series_key.instrument, "1m")]
    assert (candles.rows, candles.first_ts, candles.last_ts) == (42, ts[0], ts[-1])
    rates = listed[("funding", instrument, None)]
    assert (rates.rows, rates.first_ts, rates.last_ts) == (2, ts[0], ts[8])


def test_funding_round_trip_and_reimport(store: SqlCandleStore, instrument: InstrumentId, make_candles) -> None:
    index = make_candles(300, step_ms=480 * MINUTE_MS).index
    rates = np.random.default_rng(3).normal(0.0001, 0.0003, len(index))
    funding = pd.DataFrame({"funding_rate": rates}, index=index)

    assert store.upsert_funding(instrument, funding) == 300
    assert store.upsert_funding(instrument, funding) == 0
    pd.testing.assert_frame_equal(store.load_funding(instrument), funding)
    pd.testing.assert_frame_equal(
        store.load_funding(instrument, start_ms=int(index[100].value // 1_000_000)), funding.iloc[100:]
    )


def test_delete(store: SqlCandleStore, series_key: SeriesKey, instrument: InstrumentId, make_candles) -> None:
    frame = make_candles(10)
    store.upsert_candles(series_key, frame)
    store.upsert_funding(instrument, frame[["close"]].rename(columns={"close": "funding_rate"}) * 1e-8)
    assert store.delete_candles(series_key) == 10
    assert store.delete_funding(instrument) == 10
    assert store.load_candles(series_key).empty
    assert store.load_funding(instrument).empty


def test_invalid_frame_is_refused_before_touching_the_database(
    store: SqlCandleStore, series_key: SeriesKey, make_candles
) -> None:
    original = make_candles(20)
    store.upsert_candles(series_key, original)
    broken = make_candles(20, seed=9)
    broken.iloc[5, 0] = np.nan
    with pytest.raises(InvalidFrameError, match="'open'"):
        store.upsert_candles(series_key, broken)
    pd.testing.assert_frame_equal(store.load_candles(series_key), original)


@pytest.mark.parametrize("overlapping", [False, True], ids=["new-range", "overlapping-range"])
def test_a_row_refused_by_the_database_rolls_back_the_whole_batch(
    store: SqlCandleStore, engine: Engine, series_key: SeriesKey, make_candles, overlapping: bool
) -> None:
    """Earlier rows of the batch were already written when the bad row fails: all of it must vanish."""
    original = make_candles(100)
    store.upsert_candles(series_key, original)
    start_ms = int(original.index[50].value // 1_000_000) if overlapping else int(original.index[-1].value // 1_000_000)
    batch = make_candles(200, start_ms=start_ms + (0 if overlapping else MINUTE_MS), seed=5)
    batch.iloc[150, batch.columns.get_loc("volume")] = -1.0  # violates the CHECK constraint

    with pytest.raises(StorageError, match="volume"):
        store.upsert_candles(series_key, batch)

    assert count_rows(engine, series_key) == 100
    pd.testing.assert_frame_equal(store.load_candles(series_key), original)
    assert store.upsert_candles(series_key, original) == 0  # the store still works afterwards


def test_candle_reads_and_journal_writes_share_one_sqlite_file_safely(make_candles, tmp_path) -> None:
    """Reads and the journal's writes in one process, as in the agent: the WAL database stays sound.

    (A second copy of SQLite in the process, as the ADBC reader had, dropped the writer's locks and
    made the next connection fail with "disk I/O error".)
    """
    from trading_agent.domain import CircuitBreakerTripped
    from trading_agent.storage import SqlJournal, create_database_engine

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = SqlCandleStore(create_database_engine(url))
    journal = SqlJournal(create_database_engine(url), "s")
    series = SeriesKey.of("file", "BTC", "1m")
    frame = make_candles(5_000)
    store.upsert_candles(series, frame)
    events = [CircuitBreakerTripped(ts_event=i, breaker="drawdown", reason=str(i)) for i in range(20)]
    for event in events:
        journal.append([event])
        pd.testing.assert_frame_equal(store.load_candles(series), frame)
    assert list(SqlJournal(create_database_engine(url), "s").read()) == events
    assert store.load_candles(series, start_ms=10**15).empty
