"""Background jobs in the ``backtest_jobs`` table: each saved whole as a JSON document, read back by id or newest first.

The store knows a job's id, kind and status and keeps the rest (request, timestamps, result or
error) as the document it was given; the service layer owns what the document means.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Self

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from trading_agent.storage.engine import create_database_engine, mask_password
from trading_agent.storage.errors import StorageError
from trading_agent.storage.schema import migrate
from trading_agent.storage.tables import JobRow

__all__ = ["SqlJobStore"]


class SqlJobStore:
    """The jobs of one database. Opening it migrates the schema; every failure is a :class:`StorageError`."""

    def __init__(self, engine: Engine, *, owns_engine: bool = False) -> None:
        migrate(engine)
        self._engine = engine
        self._owns_engine = owns_engine

    @classmethod
    def open(cls, url: str) -> Self:
        """The store on the database at ``url``; :meth:`close` disposes of its engine."""
        engine = create_database_engine(url)
        try:
            return cls(engine, owns_engine=True)
        except StorageError:
            engine.dispose()
            raise

    def close(self) -> None:
        """Dispose of the engine if :meth:`open` made it (an engine passed in stays open)."""
        if self._owns_engine:
            self._engine.dispose()

    def save(self, job_id: str, kind: str, status: str, document: dict[str, Any]) -> None:
        """Write the job ``job_id`` as it now stands (its first save places it after every job saved before)."""
        values = {"kind": kind, "status": status, "document": document}
        try:
            with self._engine.begin() as connection:
                changed = connection.execute(update(JobRow).where(JobRow.job_id == job_id).values(values)).rowcount
                if not changed:
                    connection.execute(insert(JobRow).values(job_id=job_id, **values))
        except SQLAlchemyError as exc:
            raise StorageError(f"saving job {job_id} failed on {self._where()}: {exc}") from exc

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The document of job ``job_id``, or None when the store has no such job."""
        documents = self._documents(select(JobRow.document).where(JobRow.job_id == job_id))
        return documents[0] if documents else None

    def newest(self, limit: int) -> list[dict[str, Any]]:
        """The documents of the ``limit`` newest jobs, newest first."""
        return self._documents(select(JobRow.document).order_by(JobRow.seq.desc()).limit(limit))

    def with_status(self, statuses: Collection[str]) -> list[dict[str, Any]]:
        """The documents of the jobs whose status is one of ``statuses``, oldest first."""
        return self._documents(select(JobRow.document).where(JobRow.status.in_(statuses)).order_by(JobRow.seq))

    def prune(self, keep: int, statuses: Collection[str]) -> int:
        """Delete the jobs older than the ``keep`` newest (at least 1) whose status is one of ``statuses``.

        How many were deleted. Jobs of any other status stay, however old (those still to run).
        """
        if keep < 1:
            raise StorageError(f"jobs to keep must be at least 1, got {keep}")
        oldest_kept = select(JobRow.seq).order_by(JobRow.seq.desc()).offset(keep - 1).limit(1)
        try:
            with self._engine.begin() as connection:
                floor = connection.execute(oldest_kept).scalar_one_or_none()
                if floor is None:
                    return 0
                old = delete(JobRow).where(JobRow.seq < floor, JobRow.status.in_(statuses))
                return connection.execute(old).rowcount
        except SQLAlchemyError as exc:
            raise StorageError(f"pruning jobs failed on {self._where()}: {exc}") from exc

    def _documents(self, query: Any) -> list[dict[str, Any]]:
        try:
            with self._engine.connect() as connection:
                return list(connection.execute(query).scalars())
        except SQLAlchemyError as exc:
            raise StorageError(f"reading jobs failed on {self._where()}: {exc}") from exc

    def _where(self) -> str:
        return repr(mask_password(self._engine.url))
