"""Migrations on an empty SQLite file and an empty PostgreSQL database: create, repeat, agree, downgrade."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from tests.testkit.services import postgres_database, unavailable
from trading_agent.storage import (
    MigrationError,
    create_database_engine,
    current_revision,
    downgrade,
    head_revision,
    migrate,
)
from trading_agent.storage.tables import Base
from trading_agent.storage.timescale import CANDLE_CHUNK_MS, enable_timescale, try_create_extension

EVERY_TABLE = {
    "candles",
    "funding_rates",
    "signals",
    "risk_events",
    "orders",
    "fills",
    "positions",
    "trades",
    "funding_payments",
    "equity_snapshots",
    "events",
    "backtest_jobs",
}


@pytest.fixture
def empty_engine(empty_database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(empty_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def empty_postgres(empty_postgres_url: str) -> Iterator[Engine]:
    engine = create_database_engine(empty_postgres_url)
    yield engine
    engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrate_creates_every_table_and_is_idempotent(empty_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    assert current_revision(empty_engine) is None
    migrate(empty_engine)
    assert tables(empty_engine) == EVERY_TABLE
    assert current_revision(empty_engine) == head_revision()

    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("at head, migrate() must not run Alembic")

    monkeypatch.setattr("trading_agent.storage.schema.command.upgrade", must_not_run)
    migrate(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_migrate_accepts_a_url(empty_database_url: str, empty_engine: Engine) -> None:
    migrate(empty_database_url)
    assert tables(empty_engine) == EVERY_TABLE


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    migrate(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_candles_has_the_declared_primary_key_and_checks(empty_engine: Engine) -> None:
    migrate(empty_engine)
    inspector = inspect(empty_engine)
    assert inspector.get_pk_constraint("candles")["constrained_columns"] == ["exchange", "symbol", "timeframe", "ts"]
    checks = {check["name"] for check in inspector.get_check_constraints("candles")}
    assert checks == {"ck_candles_positive_prices", "ck_candles_non_negative_volume"}


def test_sqlite_candles_is_without_rowid(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'rowid.db'}")
    migrate(engine)
    with engine.connect() as connection:
        sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'candles'")).scalar_one()
    assert sql.rstrip().upper().endswith("WITHOUT ROWID")


def test_downgrade_removes_everything_and_upgrade_restores_it(empty_engine: Engine) -> None:
    migrate(empty_engine)
    downgrade(empty_engine)
    assert tables(empty_engine) == set()
    assert current_revision(empty_engine) is None
    migrate(empty_engine)
    assert tables(empty_engine) == EVERY_TABLE


def test_downgrade_to_an_unknown_revision_is_a_migration_error(empty_engine: Engine) -> None:
    migrate(empty_engine)
    with pytest.raises(MigrationError, match="no-such-revision"):
        downgrade(empty_engine, "no-such-revision")
    assert current_revision(empty_engine) == head_revision()


def test_concurrent_migrations_do_not_collide(empty_postgres_url: str, empty_postgres: Engine) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(empty_postgres_url)
        except BaseException as exc:  # collected and re-raised by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert tables(empty_postgres) == EVERY_TABLE


def test_timescale_is_detected_and_optional(empty_postgres: Engine) -> None:
    """TimescaleDB is not on this server: detection says so, and candles stays a plain table."""
    migrate(empty_postgres)
    with empty_postgres.connect() as connection:
        available = connection.execute(
            text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")
        ).scalar_one()
        if available:
            pytest.skip("this server has TimescaleDB: the plain-table path cannot be observed")
        assert enable_timescale(connection) is False
        hypertable_catalog = connection.execute(text("SELECT to_regclass('timescaledb_information.hypertables')"))
        assert hypertable_catalog.scalar_one() is None


def test_a_failing_create_extension_leaves_the_transaction_usable(empty_postgres: Engine) -> None:
    with empty_postgres.connect() as connection:
        connection.execute(text("CREATE TABLE before_extension (x int)"))
        assert try_create_extension(connection, "no_such_extension_anywhere") is False
        connection.execute(text("INSERT INTO before_extension VALUES (1)"))  # the transaction is still alive
        assert connection.execute(text("SELECT count(*) FROM before_extension")).scalar_one() == 1


def test_an_available_extension_is_created_in_the_savepoint(empty_postgres: Engine) -> None:
    with empty_postgres.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first():
            unavailable("pg_trgm (PostgreSQL contrib) is not installed on this server")
        assert try_create_extension(connection, "pg_trgm") is True
        assert connection.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first() is not None


def test_the_migration_makes_candles_a_hypertable_when_timescale_is_usable(
    empty_postgres: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TimescaleDB is not installed here, so only the wiring is checked: detection says yes -> hypertable call."""
    calls: list[tuple[str, str, int]] = []
    monkeypatch.setattr("trading_agent.storage.timescale.enable_timescale", lambda connection: True)
    monkeypatch.setattr(
        "trading_agent.storage.timescale.make_hypertable",
        lambda connection, table, column, chunk: calls.append((table, column, chunk)),
    )
    migrate(empty_postgres)
    assert calls == [("candles", "ts", CANDLE_CHUNK_MS)]
