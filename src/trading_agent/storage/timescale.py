"""TimescaleDB, used when the PostgreSQL server has it, never required.

Detection: the extension is *installed* in this database when ``pg_extension`` lists it, and
*available* when ``pg_available_extensions`` does. An available extension is created inside a
SAVEPOINT, because ``CREATE EXTENSION timescaledb`` also fails when the library is not in
``shared_preload_libraries`` or the role lacks the privilege; rolling back to the savepoint keeps
the surrounding migration transaction alive, and the schema simply stays plain PostgreSQL.

``candles`` becomes a hypertable partitioned on its integer ``ts`` (epoch ms) in chunks of
:data:`CANDLE_CHUNK_MS`; its primary key already contains ``ts``, as Timescale requires of every
unique index.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

__all__ = [
    "CANDLE_CHUNK_MS",
    "TIMESCALE_EXTENSION",
    "enable_timescale",
    "make_hypertable",
    "try_create_extension",
]

TIMESCALE_EXTENSION = "timescaledb"
CANDLE_CHUNK_MS = 30 * 24 * 3600 * 1000

_log = logging.getLogger(__name__)


def _extension_installed(connection: Connection, name: str) -> bool:
    query = text("SELECT 1 FROM pg_extension WHERE extname = :name")
    return connection.execute(query, {"name": name}).first() is not None


def _extension_available(connection: Connection, name: str) -> bool:
    query = text("SELECT 1 FROM pg_available_extensions WHERE name = :name")
    return connection.execute(query, {"name": name}).first() is not None


def try_create_extension(connection: Connection, name: str) -> bool:
    """``CREATE EXTENSION IF NOT EXISTS name`` inside a SAVEPOINT; whether it now exists.

    A failure is logged and rolled back to the savepoint: the caller's transaction goes on.
    """
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(f'CREATE EXTENSION IF NOT EXISTS "{name}"')
    except DBAPIError as exc:
        _log.info("extension %s could not be created, going on without it: %s", name, exc.orig)
        return False
    return True


def enable_timescale(connection: Connection) -> bool:
    """Whether TimescaleDB is usable in this PostgreSQL database, creating the extension if possible."""
    if _extension_installed(connection, TIMESCALE_EXTENSION):
        return True
    if not _extension_available(connection, TIMESCALE_EXTENSION):
        _log.info("TimescaleDB is not available on this server: candles stay a plain table")
        return False
    return try_create_extension(connection, TIMESCALE_EXTENSION)


def make_hypertable(connection: Connection, table: str, time_column: str, chunk_interval: int) -> None:
    """Turn ``table`` into a hypertable on its integer ``time_column`` (idempotent).

    No default index on the time column is created: the primary keys here already end with it.
    """
    connection.execute(
        text(
            "SELECT create_hypertable(CAST(:table AS regclass), CAST(:column AS name), "
            "chunk_time_interval => CAST(:interval AS bigint), create_default_indexes => FALSE, "
            "if_not_exists => TRUE, migrate_data => TRUE)"
        ),
        {"table": table, "column": time_column, "interval": chunk_interval},
    )
