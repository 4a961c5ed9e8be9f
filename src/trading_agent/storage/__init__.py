"""Persistence: SQLAlchemy 2 models, Alembic migrations and bulk stores on SQLite or PostgreSQL.

SQLite (a WAL file) is the default; PostgreSQL is used through psycopg 3, with TimescaleDB
hypertables when the server has the extension. Imports only the domain and third-party libraries.
"""

from trading_agent.storage.candles import SqlCandleStore, open_store
from trading_agent.storage.engine import create_database_engine, mask_password, normalize_database_url
from trading_agent.storage.errors import (
    DatabaseUnavailableError,
    InvalidDatabaseUrlError,
    InvalidFrameError,
    MigrationError,
    StorageError,
)
from trading_agent.storage.event_codec import decode_event, encode_event
from trading_agent.storage.jobs import SqlJobStore
from trading_agent.storage.journal import SqlJournal, journal_rows
from trading_agent.storage.schema import current_revision, downgrade, head_revision, migrate

__all__ = [
    "DatabaseUnavailableError",
    "InvalidDatabaseUrlError",
    "InvalidFrameError",
    "MigrationError",
    "SqlCandleStore",
    "SqlJobStore",
    "SqlJournal",
    "StorageError",
    "create_database_engine",
    "current_revision",
    "decode_event",
    "downgrade",
    "encode_event",
    "head_revision",
    "journal_rows",
    "mask_password",
    "migrate",
    "normalize_database_url",
    "open_store",
]
