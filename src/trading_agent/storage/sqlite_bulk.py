"""Bulk series I/O on SQLite through the raw ``sqlite3`` connection.

Writes: one ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` fed by a generator of plain
tuples (no per-row SQLAlchemy work; ~300k rows/s here). The ``DO UPDATE ... WHERE`` clause skips
rows whose values did not change, so re-importing the same data writes nothing and the returned
count (``sqlite3``'s change count) is the number of rows inserted or changed.

Reads of a database file go through ADBC (``adbc-driver-sqlite``, Apache Arrow's database
connectivity): it hands back Arrow columns with no Python object per value, so 1M candles load in
~0.6 s where ``sqlite3`` needs ~1.2 s just to build its row tuples. The ADBC connection is a
separate reader; with WAL it sees every committed row and blocks no writer. An in-memory database
has no file another connection could open, so it is read with ``sqlite3`` into one structured numpy
array (``np.fromiter``).
"""

from __future__ import annotations

import sqlite3
from itertools import repeat

import adbc_driver_sqlite.dbapi as adbc_sqlite
import numpy as np

from trading_agent.storage.series import SeriesBatch, SeriesTable

__all__ = ["DRIVER_ERRORS", "read_series", "write_series"]

DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,)


def write_series(connection: sqlite3.Connection, table: SeriesTable, key: tuple[str, ...], batch: SeriesBatch) -> int:
    """Upsert ``batch`` into ``table`` for ``key``; the rows inserted or changed."""
    columns = table.columns
    conflict = ", ".join((*table.key_columns, table.time_column))
    assignments = ", ".join(f"{column} = excluded.{column}" for column in table.value_columns)
    current = ", ".join(table.value_columns)
    incoming = ", ".join(f"excluded.{column}" for column in table.value_columns)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {assignments} WHERE ({current}) <> ({incoming})"
    )
    rows = zip(
        *(repeat(part) for part in key),
        batch.ts.tolist(),
        *(values.tolist() for values in batch.values),
        strict=False,
    )
    before = connection.total_changes
    connection.executemany(sql, rows)
    return connection.total_changes - before


def read_series(
    connection: sqlite3.Connection, table: SeriesTable, key: tuple[str, ...], start_ms: int | None, end_ms: int | None
) -> SeriesBatch:
    """The stored rows of one series in time order."""
    sql, params = table.select_range(key, start_ms, end_ms, "?")
    path = _database_file(connection)
    if path:
        return _read_with_adbc(path, sql, params)
    dtype = np.dtype([(table.time_column, "int64"), *((column, "float64") for column in table.value_columns)])
    rows = np.fromiter(connection.execute(sql, params), dtype=dtype)
    return SeriesBatch(
        np.ascontiguousarray(rows[table.time_column]),
        tuple(np.ascontiguousarray(rows[column]) for column in table.value_columns),
    )


def _database_file(connection: sqlite3.Connection) -> str:
    """The file of the ``main`` database ('' when it lives in memory)."""
    for _, name, path in connection.execute("PRAGMA database_list"):
        if name == "main":
            return str(path)
    return ""


def _read_with_adbc(path: str, sql: str, params: list[object]) -> SeriesBatch:
    with adbc_sqlite.connect(path) as reader, reader.cursor() as cursor:
        cursor.execute(sql, params)
        arrow = cursor.fetch_arrow_table()
    columns = [np.asarray(arrow.column(i).to_numpy(), dtype="float64") for i in range(1, arrow.num_columns)]
    return SeriesBatch(np.asarray(arrow.column(0).to_numpy(), dtype="int64"), tuple(columns))
