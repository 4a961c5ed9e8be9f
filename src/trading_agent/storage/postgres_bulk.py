"""Bulk series I/O on PostgreSQL through psycopg 3's COPY, in the binary format, encoded by numpy.

Why not ``INSERT ... ON CONFLICT``: measured on this machine with 1M candles, ``INSERT ... SELECT
... ON CONFLICT DO UPDATE`` from a COPY-filled temp table took 7.4 s into an empty series and 6 s
to re-import unchanged rows (speculative insertion and a row lock per conflicting row, even when the
``DO UPDATE`` is skipped), while ``COPY`` straight into ``candles`` took 2.6 s. So a write is:

1. take a transaction-scoped advisory lock on the series, so concurrent writers of the same series
   queue up instead of racing between the next two steps;
2. if no stored row of the series falls inside the batch's time range (a fresh import or an
   append, the common case), ``COPY`` the rows directly into the table;
3. otherwise ``COPY`` them into a temp table, ``UPDATE`` the stored rows whose values differ, and
   ``INSERT`` the rows that are not stored yet. Unchanged rows are not touched (no dead tuples), so
   re-importing the same data writes nothing.

The returned count is the rows inserted or changed. Every row of the binary COPY payload has the
same fixed layout (the key names are constants of the batch), so a whole chunk is one numpy
structured array written with ``tobytes()``: no per-row Python work. Reads use
``COPY (SELECT ...) TO STDOUT (FORMAT BINARY)`` parsed the same way with ``np.frombuffer``; the
server sends one message per row, and receiving them (~0.6 µs each in psycopg) is most of the time.
"""

from __future__ import annotations

import numpy as np
import psycopg

from trading_agent.storage.series import SeriesBatch, SeriesTable

__all__ = ["DRIVER_ERRORS", "read_series", "write_series"]

DRIVER_ERRORS: tuple[type[Exception], ...] = (psycopg.Error,)

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = _SIGNATURE + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)
_CHUNK_ROWS = 100_000
_FIELD_BYTES = 8


def _record_dtype(table: SeriesTable, key_bytes: tuple[bytes, ...]) -> np.dtype:
    """One binary COPY tuple (keys, time, values; without keys as read back), all big-endian."""
    fields: list[tuple[str, str]] = [("field_count", ">i2")]
    for position, part in enumerate(key_bytes):
        fields += [(f"key{position}_length", ">i4"), (f"key{position}", f"S{len(part)}")]
    fields += [("time_length", ">i4"), ("time", ">i8")]
    for position in range(len(table.value_columns)):
        fields += [(f"value{position}_length", ">i4"), (f"value{position}", ">f8")]
    return np.dtype(fields)


def _copy_rows(
    cursor: psycopg.Cursor[tuple[object, ...]],
    target: str,
    table: SeriesTable,
    key: tuple[str, ...],
    batch: SeriesBatch,
) -> None:
    key_bytes = tuple(part.encode() for part in key)
    dtype = _record_dtype(table, key_bytes)
    with cursor.copy(f"COPY {target} ({', '.join(table.columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_HEADER)
        for start in range(0, len(batch), _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, len(batch))
            records = np.empty(stop - start, dtype)
            records["field_count"] = len(table.columns)
            for position, part in enumerate(key_bytes):
                records[f"key{position}_length"] = len(part)
                records[f"key{position}"] = part
            records["time_length"] = _FIELD_BYTES
            records["time"] = batch.ts[start:stop]
            for position, values in enumerate(batch.values):
                records[f"value{position}_length"] = _FIELD_BYTES
                records[f"value{position}"] = values[start:stop]
            copy.write(records.tobytes())
        copy.write(_TRAILER)


def write_series(connection: psycopg.Connection, table: SeriesTable, key: tuple[str, ...], batch: SeriesBatch) -> int:
    """Upsert ``batch`` into ``table`` for ``key``; the rows inserted or changed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (":".join((table.name, *key)),))
        key_match = " AND ".join(f"{column} = %s" for column in table.key_columns)
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table.name} WHERE {key_match} AND {table.time_column} BETWEEN %s AND %s)",
            (*key, int(batch.ts[0]), int(batch.ts[-1])),
        )
        row = cursor.fetchone()
        if row is None or not row[0]:
            _copy_rows(cursor, table.name, table, key, batch)
            return len(batch)
        incoming = f"incoming_{table.name}"
        cursor.execute(f"CREATE TEMP TABLE {incoming} (LIKE {table.name}) ON COMMIT DROP")
        _copy_rows(cursor, incoming, table, key, batch)
        cursor.execute(f"ANALYZE {incoming}")
        same_row = " AND ".join(f"t.{column} = s.{column}" for column in (*table.key_columns, table.time_column))
        stored = ", ".join(f"t.{column}" for column in table.value_columns)
        given = ", ".join(f"s.{column}" for column in table.value_columns)
        assignments = ", ".join(f"{column} = s.{column}" for column in table.value_columns)
        cursor.execute(
            f"UPDATE {table.name} AS t SET {assignments} FROM {incoming} AS s "
            f"WHERE {same_row} AND ({stored}) IS DISTINCT FROM ({given})"
        )
        updated = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table.name} ({', '.join(table.columns)}) "
            f"SELECT {', '.join(f's.{column}' for column in table.columns)} FROM {incoming} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table.name} AS t WHERE {same_row}) ORDER BY s.{table.time_column}"
        )
        return updated + cursor.rowcount


def read_series(
    connection: psycopg.Connection, table: SeriesTable, key: tuple[str, ...], start_ms: int | None, end_ms: int | None
) -> SeriesBatch:
    """The stored rows of one series in time order."""
    sql, params = table.select_range(key, start_ms, end_ms, "%s")
    payload = bytearray()
    with connection.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
        for block in copy:
            payload += block
    return _decode(payload, table)


def _decode(payload: bytearray, table: SeriesTable) -> SeriesBatch:
    if not payload.startswith(_SIGNATURE) or not payload.endswith(_TRAILER):
        raise psycopg.DataError("unexpected binary COPY framing from the server")
    start = len(_HEADER) + int.from_bytes(payload[len(_HEADER) - 4 : len(_HEADER)], "big")
    dtype = _record_dtype(table, key_bytes=())
    body = memoryview(payload)[start : len(payload) - len(_TRAILER)]
    if len(body) % dtype.itemsize:
        raise psycopg.DataError("binary COPY payload is not a whole number of fixed-width rows")
    records = np.frombuffer(body, dtype=dtype)
    field_count = 1 + len(table.value_columns)
    if (records["field_count"] != field_count).any():
        raise psycopg.DataError(f"binary COPY rows do not all have {field_count} fields")
    return SeriesBatch(
        records["time"].astype("int64"),
        tuple(records[f"value{position}"].astype("float64") for position in range(len(table.value_columns))),
    )
