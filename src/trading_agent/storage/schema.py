"""Schema migrations with Alembic, configured in code (the scripts ship inside the package).

:func:`migrate` runs every time a store is opened, so it must be cheap when there is nothing to do:
it reads the ``alembic_version`` row and compares it with the head revision (read once per
process) before it loads Alembic's machinery. The whole upgrade runs in one transaction (SQLite
and PostgreSQL both have transactional DDL), under a PostgreSQL advisory lock so two processes
starting together do not both create the tables.

New revisions: build the configuration with :func:`alembic_config` on a connection to a database
at head and call ``alembic.command.revision(config, message, autogenerate=True)``; then review the
generated file in ``migrations/versions``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from trading_agent.storage.engine import create_database_engine, mask_password
from trading_agent.storage.errors import MigrationError

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "migrate"]

_SCRIPT_LOCATION = Path(__file__).with_name("migrations")
# Arbitrary constant identifying "schema migration" among PostgreSQL advisory locks.
_MIGRATION_LOCK_KEY = 0x7472_6164_696E_67


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration whose ``env.py`` runs on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision shipped with the package."""
    head = ScriptDirectory(str(_SCRIPT_LOCATION)).get_current_head()
    if head is None:
        raise MigrationError(f"no migration scripts found in {_SCRIPT_LOCATION}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` before the first migration)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(target: Engine | str | URL) -> None:
    """Upgrade the database to the head revision (a no-op costing one query when already there)."""
    with _schema_transaction(target, "upgrade") as connection:
        if MigrationContext.configure(connection).get_current_revision() != head_revision():
            command.upgrade(alembic_config(connection), "head")


def downgrade(target: Engine | str | URL, revision: str = "base") -> None:
    """Downgrade the database to ``revision`` (``"base"`` drops every table this package made)."""
    with _schema_transaction(target, f"downgrade to {revision}") as connection:
        command.downgrade(alembic_config(connection), revision)


@contextmanager
def _schema_transaction(target: Engine | str | URL, action: str) -> Iterator[Connection]:
    engine = target if isinstance(target, Engine) else create_database_engine(target)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            yield connection
    except (SQLAlchemyError, CommandError) as exc:
        raise MigrationError(f"schema {action} failed on {mask_password(engine.url)!r}: {exc}") from exc
    finally:
        if engine is not target:
            engine.dispose()
