"""The market the training benchmarks share: 2 years of real BTC/USDT 1h in a throw-away SQLite store.

Imported lazily by the benchmarks that need it, so the others do not load the services layer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CONFIG_DIR", "REAL_BTC_1H", "BenchMarket", "btc_1h_market"]

REAL_BTC_1H = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "binance_BTCUSDT_1h.csv.gz"
CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
START_MS, END_MS = 1_656_633_600_000, 1_719_792_000_000  # 2022-07-01, 2024-07-01


@dataclass(frozen=True, slots=True)
class BenchMarket:
    """The market-data service over the store, the series, what the data is and the range to train on."""

    service: Any
    series: Any
    source: str
    start_ms: int | None
    end_ms: int | None


@contextmanager
def btc_1h_market() -> Iterator[BenchMarket]:
    """The real candles of 2022-07 .. 2024-07, or two years of seeded synthetic ones when ../shared/data is absent."""
    from trading_agent.config import load_settings
    from trading_agent.data.files import SeriesFileKind
    from trading_agent.data.synthetic import SyntheticMarket
    from trading_agent.domain import SeriesKey
    from trading_agent.services.market_data import MarketDataService
    from trading_agent.storage.candles import open_store

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{tmp}/bench.db", config_dir=CONFIG_DIR)
        market = MarketDataService(open_store(settings.database_url), settings.delta)
        series = SeriesKey.of("binance", "BTCUSDT", "1h")
        if REAL_BTC_1H.is_file():
            market.import_file(REAL_BTC_1H, "binance", "BTCUSDT", "1h", SeriesFileKind.CANDLES)
            yield BenchMarket(market, series, "BTC/USDT 1h (real)", START_MS, END_MS)
        else:
            market.store.upsert_candles(series, SyntheticMarket(seed=7).generate(2 * 8760))
            yield BenchMarket(market, series, "synthetic 1h (../shared/data absent)", None, None)
