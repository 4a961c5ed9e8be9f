"""``MarketDataService.download`` against the local fake Delta Exchange India, into a real store."""

import asyncio

import numpy as np

from tests.testkit.fake_delta import FakeDelta
from trading_agent.data.frames import index_ms
from trading_agent.domain import SeriesKey, Timeframe
from trading_agent.services.market_data import MarketDataService
from trading_agent.storage import open_store

SERIES = SeriesKey.of("delta_india", "BTCUSD", "1m")


async def test_download_stores_exactly_the_closed_candles_and_is_idempotent(sqlite_url: str) -> None:
    async with FakeDelta() as fake:
        service = MarketDataService(open_store(sqlite_url), fake.settings(), now_ms=fake.now_ms)
        pages: list[tuple[int, int]] = []
        summary = await asyncio.to_thread(
            service.download, "BTCUSD", "1m", 1, on_progress=lambda done, total: pages.append((done, total))
        )
        assert summary.rows_read == 1440
        assert summary.rows_after == 1440
        assert pages[-1][0] == pages[-1][1] == 1
        stored = service.load_candles(SERIES)
        truth = fake.series("BTCUSD", Timeframe.M1)
        live_open = Timeframe.M1.bucket_start(fake.now_ms())
        expected = [c for c in truth if live_open - 1440 * 60_000 <= c.ts < live_open]
        np.testing.assert_array_equal(index_ms(stored), [c.ts for c in expected])
        np.testing.assert_array_equal(stored["close"].to_numpy(), [c.close for c in expected])

        again = await asyncio.to_thread(service.download, "BTCUSD", "1m", 1)
        assert again.rows_added == 0
