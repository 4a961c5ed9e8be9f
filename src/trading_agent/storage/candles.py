"""The SQL candle store: bulk candles and funding rates on SQLite or PostgreSQL.

:class:`SqlCandleStore` has the methods of ``trading_agent.data.store.CandleStore`` (storage may
not import the data layer, so the match is structural). Bulk work goes through the
driver connection underneath SQLAlchemy's transaction (:mod:`.sqlite_bulk`,
:mod:`.postgres_bulk`), so every write is one transaction: on any error nothing is left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute

from trading_agent.domain import InstrumentId, SeriesInfo, SeriesKey, SeriesKind
from trading_agent.storage import postgres_bulk, sqlite_bulk
from trading_agent.storage.engine import create_database_engine, mask_password
from trading_agent.storage.errors import StorageError
from trading_agent.storage.schema import migrate
from trading_agent.storage.series import (
    CANDLES,
    FUNDING,
    SeriesBatch,
    SeriesTable,
    batch_from_frame,
    frame_from_batch,
)
from trading_agent.storage.tables import CandleRow, FundingRateRow

__all__ = ["SqlCandleStore", "open_store"]


class _BulkBackend(Protocol):
    DRIVER_ERRORS: tuple[type[Exception], ...]

    def write_series(self, connection: Any, table: SeriesTable, key: tuple[str, ...], batch: SeriesBatch) -> int: ...

    def read_series(
        self, connection: Any, table: SeriesTable, key: tuple[str, ...], start_ms: int | None, end_ms: int | None
    ) -> SeriesBatch: ...


_BACKENDS: dict[str, _BulkBackend] = {"sqlite": sqlite_bulk, "postgresql": postgres_bulk}


def _candle_key(series: SeriesKey) -> tuple[str, ...]:
    return (series.instrument.venue, series.instrument.symbol, series.timeframe.value)


def _funding_key(instrument: InstrumentId) -> tuple[str, ...]:
    return (instrument.venue, instrument.symbol)


def _series_stats(
    connection: Connection, keys: tuple[InstrumentedAttribute[str], ...], ts: InstrumentedAttribute[int]
) -> list[tuple[Any, ...]]:
    """Per series: the key columns, then row count, first and last ``ts``, in key order."""
    query = select(*keys, func.count(), func.min(ts), func.max(ts)).group_by(*keys).order_by(*keys)
    return [tuple(row) for row in connection.execute(query)]


class SqlCandleStore:
    """Candles and funding rates keyed by exchange/symbol[/timeframe]/ts, stored in bulk.

    Opening a store migrates the database to the current schema (cheap when already there).
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in _BACKENDS:
            raise StorageError(f"unsupported database {mask_password(engine.url)!r}: use SQLite or PostgreSQL")
        migrate(engine)
        self._engine = engine
        self._bulk = _BACKENDS[engine.dialect.name]

    @property
    def engine(self) -> Engine:
        """The engine the store writes through."""
        return self._engine

    def upsert_candles(self, series: SeriesKey, frame: pd.DataFrame) -> int:
        """Insert or update ``frame``'s candles in one transaction; the rows inserted or changed.

        Re-importing identical candles changes nothing and returns 0. Raises
        :class:`InvalidFrameError` for a frame of the wrong shape and :class:`StorageError` when
        the database refuses the rows (e.g. a non-positive price); either way nothing is written.
        """
        return self._upsert(CANDLES, _candle_key(series), frame, str(series))

    def load_candles(self, series: SeriesKey, start_ms: int | None = None, end_ms: int | None = None) -> pd.DataFrame:
        """Stored candles with ``start_ms <= ts < end_ms`` as a candle frame (empty if none)."""
        return self._load(CANDLES, _candle_key(series), start_ms, end_ms, str(series))

    def upsert_funding(self, instrument: InstrumentId, frame: pd.DataFrame) -> int:
        """Insert or update funding rates (column ``funding_rate``) in one transaction; rows inserted or changed."""
        return self._upsert(FUNDING, _funding_key(instrument), frame, f"{instrument} funding")

    def load_funding(
        self, instrument: InstrumentId, start_ms: int | None = None, end_ms: int | None = None
    ) -> pd.DataFrame:
        """Stored funding rates with ``start_ms <= ts < end_ms`` as a funding frame."""
        return self._load(FUNDING, _funding_key(instrument), start_ms, end_ms, f"{instrument} funding")

    def list_series(self) -> list[SeriesInfo]:
        """Every stored series with its row count and range: candles first, each in key order."""
        with self._transaction("list series") as connection:
            candle_keys = (CandleRow.exchange, CandleRow.symbol, CandleRow.timeframe)
            candles = _series_stats(connection, candle_keys, CandleRow.ts)
            funding = _series_stats(connection, (FundingRateRow.exchange, FundingRateRow.symbol), FundingRateRow.ts)
        return [
            *(
                SeriesInfo(SeriesKind.CANDLES, InstrumentId(v, s), tf, n, first, last)
                for v, s, tf, n, first, last in candles
            ),
            *(
                SeriesInfo(SeriesKind.FUNDING, InstrumentId(v, s), None, n, first, last)
                for v, s, n, first, last in funding
            ),
        ]

    def delete_candles(self, series: SeriesKey) -> int:
        """Delete every stored candle of ``series``; the rows deleted."""
        venue, symbol, timeframe = _candle_key(series)
        statement = delete(CandleRow).where(
            CandleRow.exchange == venue, CandleRow.symbol == symbol, CandleRow.timeframe == timeframe
        )
        with self._transaction(f"delete {series}") as connection:
            return connection.execute(statement).rowcount

    def delete_funding(self, instrument: InstrumentId) -> int:
        """Delete every stored funding rate of ``instrument``; the rows deleted."""
        statement = delete(FundingRateRow).where(
            FundingRateRow.exchange == instrument.venue, FundingRateRow.symbol == instrument.symbol
        )
        with self._transaction(f"delete {instrument} funding") as connection:
            return connection.execute(statement).rowcount

    def _upsert(self, table: SeriesTable, key: tuple[str, ...], frame: pd.DataFrame, what: str) -> int:
        batch = batch_from_frame(frame, table)
        if not len(batch):
            return 0
        with self._transaction(f"write {what}") as connection:
            return self._bulk.write_series(connection.connection.driver_connection, table, key, batch)

    def _load(
        self, table: SeriesTable, key: tuple[str, ...], start_ms: int | None, end_ms: int | None, what: str
    ) -> pd.DataFrame:
        with self._transaction(f"read {what}") as connection:
            batch = self._bulk.read_series(connection.connection.driver_connection, table, key, start_ms, end_ms)
        return frame_from_batch(batch, table)

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        """One transaction, rolled back on any error; database errors become :class:`StorageError`."""
        errors: tuple[type[Exception], ...] = (SQLAlchemyError, *self._bulk.DRIVER_ERRORS)
        try:
            with self._engine.begin() as connection:
                yield connection
        except errors as exc:
            raise StorageError(f"{action} failed on {mask_password(self._engine.url)!r}: {exc}") from exc


def open_store(url: str | URL) -> SqlCandleStore:
    """A candle store on the database at ``url``, migrated to the current schema.

    Raises :class:`InvalidDatabaseUrlError`, :class:`DatabaseUnavailableError` or
    :class:`MigrationError` (all :class:`StorageError`), naming the URL with its password masked.
    """
    return SqlCandleStore(create_database_engine(url))
