"""Database URLs and engines: driver pinning, masking, SQLite pragmas and transactions, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from trading_agent.domain import TradingAgentError
from trading_agent.storage import (
    DatabaseUnavailableError,
    InvalidDatabaseUrlError,
    StorageError,
    create_database_engine,
    mask_password,
    normalize_database_url,
)


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@db:5432/ta", "postgresql+psycopg"),
        ("postgres://u:p@db/ta", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/ta", "postgresql+psycopg"),
        ("sqlite:///var/ta.db", "sqlite"),
        ("sqlite+pysqlite:///var/ta.db", "sqlite+pysqlite"),
    ],
)
def test_drivers_are_pinned(given: str, driver: str) -> None:
    assert normalize_database_url(given).drivername == driver


@pytest.mark.parametrize("url", ["mysql://u:secret@db/ta", "postgresql+asyncpg://u:secret@db/ta"])
def test_unsupported_databases_are_refused_without_showing_the_password(url: str) -> None:
    with pytest.raises(InvalidDatabaseUrlError, match="unsupported database URL") as caught:
        normalize_database_url(url)
    assert "secret" not in str(caught.value)
    assert "***" in str(caught.value)


def test_a_malformed_url_is_an_invalid_url_error() -> None:
    with pytest.raises(InvalidDatabaseUrlError, match="malformed database URL 'not a url'"):
        create_database_engine("not a url")


def test_mask_password() -> None:
    assert mask_password("postgresql://trader:s3cr@t@db:5432/ta") == "postgresql://trader:***@db:5432/ta"
    assert mask_password("postgresql://trader@db/ta") == "postgresql://trader@db/ta"
    assert mask_password(normalize_database_url("postgresql://trader:pw@db/ta")) == (
        "postgresql+psycopg://trader:***@db/ta"
    )


def test_an_unreachable_server_is_a_clear_error_naming_the_masked_url() -> None:
    with pytest.raises(DatabaseUnavailableError) as caught:
        create_database_engine("postgresql://trader:hunter2@127.0.0.1:1/ta")
    message = str(caught.value)
    assert "cannot open database 'postgresql+psycopg://trader:***@127.0.0.1:1/ta'" in message
    assert "hunter2" not in message
    assert isinstance(caught.value, StorageError)
    assert isinstance(caught.value, TradingAgentError)


def test_an_unwritable_sqlite_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseUnavailableError, match="file/sub"):
        create_database_engine(f"sqlite:///{blocker / 'sub' / 'ta.db'}")


def test_sqlite_file_gets_its_directory_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "ta.db"
    engine = create_database_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    assert path.is_file()
    engine.dispose()


def test_sqlite_transactions_cover_ddl_and_roll_back(tmp_path: Path) -> None:
    """sqlite3 on its own would auto-commit the CREATE TABLE; our explicit BEGIN makes it transactional."""
    engine = create_database_engine(f"sqlite:///{tmp_path / 'ta.db'}")
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("abort")
    assert "t" not in inspect(engine).get_table_names()
    engine.dispose()


def test_in_memory_sqlite_works() -> None:
    engine = create_database_engine("sqlite://")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
