"""Database URLs and engines: SQLite (the default, one file) or PostgreSQL through psycopg 3.

SQLite connections are tuned for an append-heavy journal and bulk candle imports: WAL journal
(readers never block the writer), ``synchronous=NORMAL`` (durable at each WAL checkpoint, the
recommended pairing with WAL), foreign keys on. Python's ``sqlite3`` module opens transactions
lazily and only before DML, so DDL would silently auto-commit and reads would see no snapshot;
we take over instead (``isolation_level = None`` and an explicit ``BEGIN`` on every SQLAlchemy
transaction, the recipe from SQLAlchemy's SQLite dialect documentation), which makes migrations
and bulk writes fully transactional.

PostgreSQL URLs are always rewritten to the ``psycopg`` (version 3) driver: the bulk paths use
its COPY API. ``connect_timeout`` keeps an unreachable server from hanging the caller.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from trading_agent.storage.errors import DatabaseUnavailableError, InvalidDatabaseUrlError

__all__ = ["create_database_engine", "mask_password", "normalize_database_url"]

_POSTGRES_DRIVERS = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
_SQLITE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite"})
_CONNECT_TIMEOUT_S = 5
_SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON")
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*):.*@")  # greedy: a raw "@" in a password stays hidden


def mask_password(url: str | URL) -> str:
    """The URL as text with any password replaced by ``***`` (safe for messages and logs)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _PASSWORD_IN_URL.sub(r"\1:***@", url)


def normalize_database_url(url: str | URL) -> URL:
    """Parse ``url`` and pin the driver: ``postgresql://`` becomes ``postgresql+psycopg://``.

    Raises :class:`InvalidDatabaseUrlError` for a malformed URL or any database other than SQLite
    and PostgreSQL (the bulk paths are written for ``sqlite3`` and ``psycopg``).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidDatabaseUrlError(f"malformed database URL {mask_password(url)!r}: {exc}") from None
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed
    raise InvalidDatabaseUrlError(
        f"unsupported database URL {mask_password(parsed)!r}: use sqlite:///path/to/file.db "
        "or postgresql://user:password@host:port/database"
    )


def create_database_engine(url: str | URL) -> Engine:
    """An engine for ``url``, checked by opening one connection.

    A SQLite file's parent directory is created. Raises :class:`InvalidDatabaseUrlError` or
    :class:`DatabaseUnavailableError`; both messages name the URL with its password masked.
    """
    parsed = normalize_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        engine = create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": _CONNECT_TIMEOUT_S})
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailableError(f"cannot open database {mask_password(parsed)!r}: {reason}") from None
    return engine


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    is_file = database not in ("", ":memory:") and not url.query.get("uri")
    if is_file:
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailableError(f"cannot create the directory of {mask_password(url)!r}: {exc}") from None
    engine = create_engine(url)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    for pragma in _SQLITE_PRAGMAS:
        dbapi_connection.execute(pragma)


def _begin_sqlite_transaction(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")
