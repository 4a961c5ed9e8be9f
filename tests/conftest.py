"""Shared fixtures: real servers and real data (see tests/testkit/services.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testkit.services import postgres_database, redis_prefix, shared_data_file


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a PostgreSQL database made for this test session."""
    with postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def redis_url_and_prefix() -> Iterator[tuple[str, str]]:
    """(url, unique key prefix) on the real Redis server; keys are deleted after the test."""
    with redis_prefix() as pair:
        yield pair


@pytest.fixture(scope="session")
def btc_1h_path() -> Path:
    """Real Binance BTC/USDT 1h candles, 2018-2024 (../shared/data)."""
    return shared_data_file("binance_BTCUSDT_1h.csv.gz")


@pytest.fixture
def btc_1h_store_url(btc_1h_path: Path, tmp_path: Path) -> str:
    """A fresh SQLite store holding the real BTC/USDT hourly candles (binance BTCUSDT 1h)."""
    from tests.testkit.api import api_settings
    from trading_agent.data.files import SeriesFileKind
    from trading_agent.services.market_data import MarketDataService

    url = f"sqlite:///{tmp_path / 'store.db'}"
    market_data = MarketDataService.from_settings(api_settings(url, tmp_path))
    market_data.import_file(btc_1h_path, "binance", "BTCUSDT", "1h", SeriesFileKind.CANDLES)
    return url


@pytest.fixture(scope="session")
def btc_1m_path() -> Path:
    """Real Binance BTC/USDT 1m candles, six weeks of 2021 (../shared/data)."""
    return shared_data_file("binance_BTCUSDT_1m.csv.gz")


@pytest.fixture(scope="session")
def funding_path() -> Path:
    """Real Binance BTCUSDT perpetual funding rates, every 8 h (../shared/data)."""
    return shared_data_file("binanceusdm_BTCUSDT_funding-8h.csv.gz")


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """PyTorch on one thread for a test module (two cores are shared by the suite), restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
