"""Real PostgreSQL, Redis and the shared real data for tests.

With ``CI=true`` an absent server or data directory fails the test; elsewhere it skips with the reason.
Every test session gets its own PostgreSQL database and Redis key prefix and removes them afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
POSTGRES_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    """Whether this run is CI, where nothing that CI provides may be skipped."""
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip with ``reason`` outside CI; fail in CI."""
    if in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def shared_data_file(name: str) -> Path:
    """Path of a file in ../shared/data (skip or fail when absent)."""
    path = SHARED_DATA_DIR / name
    if not path.is_file():
        unavailable(f"real market data {path} is absent (it lives beside the repository, in ../shared/data)")
    return path


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run; yields its SQLAlchemy URL and drops it after."""
    import psycopg

    name = f"ta_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {exc}")
        raise  # unreachable: unavailable() always raises
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
            yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_prefix() -> Iterator[tuple[str, str]]:
    """A unique Redis key prefix; yields (url, prefix) and deletes every key under it after."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable at {REDIS_TEST_URL}: {exc}")
    prefix = f"ta-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield REDIS_TEST_URL, prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
