"""Alembic environment: runs on the connection that :func:`trading_agent.storage.schema.migrate` hands over.

There is no ``alembic.ini``: the configuration is built in code and carries the open connection in
``config.attributes["connection"]``, so the migration joins the caller's transaction (and, on
PostgreSQL, its advisory lock). Offline (``--sql``) mode is not supported.
"""

from __future__ import annotations

from alembic import context

from trading_agent.storage.tables import Base


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through trading_agent.storage.migrate(), which supplies the connection")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run them against a database")
_run_online()
