"""Fixtures of the storage integration tests: stores on SQLite and PostgreSQL, unique series keys, frames.

Every test writes under its own series key (a random symbol), so tests sharing the session's
PostgreSQL database never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from tests.testkit.services import postgres_database
from trading_agent.domain import InstrumentId, SeriesKey
from trading_agent.storage import SqlCandleStore, create_database_engine

MINUTE_MS = 60_000
START_MS = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS

CandleFactory = Callable[..., pd.DataFrame]


def unique_symbol() -> str:
    """A symbol no other test uses."""
    return f"T{uuid.uuid4().hex[:12].upper()}"


def time_index(ts_ms: np.ndarray) -> pd.DatetimeIndex:
    """The project's frame index for epoch-ms open times."""
    return pd.DatetimeIndex(np.asarray(ts_ms, dtype="int64").view("datetime64[ms]"), name="time").tz_localize("UTC")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test database (SQLite file or the session's PostgreSQL database)."""
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlCandleStore:
    """A candle store on the test database (migrated on open)."""
    return SqlCandleStore(engine)


@pytest.fixture
def series_key() -> SeriesKey:
    """A 1m candle series that only this test writes."""
    return SeriesKey.of("test", unique_symbol(), "1m")


@pytest.fixture
def instrument() -> InstrumentId:
    """An instrument that only this test writes funding rates for."""
    return InstrumentId("test", unique_symbol())


@pytest.fixture
def make_candles() -> CandleFactory:
    """``make_candles(n, start_ms=START_MS, step_ms=MINUTE_MS, seed=0)``: a valid random-walk candle frame."""

    def make(n: int, start_ms: int = START_MS, step_ms: int = MINUTE_MS, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
        open_ = np.concatenate(([close[0]], close[:-1])) if n else close
        spread = np.abs(rng.normal(0.0, 5.0, n))
        columns = {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.gamma(2.0, 3.0, n),
        }
        return pd.DataFrame(columns, index=time_index(start_ms + step_ms * np.arange(n, dtype="int64")))

    return make


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for this test (schema changes must not touch the shared session database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres_database() as url:
        yield url
