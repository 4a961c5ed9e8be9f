"""The candle cache on a real store and the real Redis server."""

import numpy as np
import pytest
import redis

from trading_agent.data.cache import CandleCache, RedisCandleCache
from trading_agent.data.frames import frame_from_arrays, index_ms
from trading_agent.domain import Candle, CandleClosed, SeriesKey
from trading_agent.storage import open_store

H = 3_600_000
SERIES = SeriesKey.of("test", "BTCUSD", "1h")


@pytest.fixture
def store(sqlite_url: str):  # type: ignore[no-untyped-def]
    store = open_store(sqlite_url)
    ts = np.arange(1500, dtype="int64") * H + 1_700_000_000_000 // H * H
    close = 100 + np.sin(np.arange(1500))
    store.upsert_candles(
        SERIES,
        frame_from_arrays(
            ts, {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.ones(1500)}
        ),
    )
    return store


def _closed(ts: int, price: float) -> CandleClosed:
    return CandleClosed(ts_event=ts + H, series=SERIES, candle=Candle(ts, price, price + 1, price - 1, price, 1.0))


def test_l1_serves_repeat_reads_and_candle_close_invalidates(store) -> None:  # type: ignore[no-untyped-def]
    cache = CandleCache(store, l1_size=1000)
    first = cache.recent(SERIES, 100)
    assert len(first) == 100
    assert cache.hits["store"] == 1
    assert cache.recent(SERIES, 100) is first
    assert cache.hits["store"] == 1
    last_ts = int(index_ms(first)[-1])
    cache.on_candle_closed(_closed(last_ts + H, 555.0))
    after = cache.recent(SERIES, 100)
    assert after is not first
    assert after["close"].iloc[-1] == 555.0
    assert int(index_ms(after)[-2]) == last_ts
    assert cache.hits["store"] == 1  # written through, not reloaded
    assert len(cache.recent(SERIES, 5000)) == 1000  # L1 holds at most l1_size candles


def test_a_short_series_is_read_from_the_store_once(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    cache = CandleCache(store)
    assert cache.recent(SERIES, 10).empty
    cache.recent(SERIES, 10)
    assert cache.hits["store"] == 1


def test_replacing_the_current_candle_keeps_one_row(store) -> None:  # type: ignore[no-untyped-def]
    cache = CandleCache(store, l1_size=10)
    last_ts = int(index_ms(cache.recent(SERIES, 10))[-1])
    cache.on_candle_closed(_closed(last_ts, 777.0))
    frame = cache.recent(SERIES, 10)
    assert len(frame) == 10
    assert frame["close"].iloc[-1] == 777.0


def test_l2_redis_is_shared_between_processes(store, redis_url_and_prefix: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    url, prefix = redis_url_and_prefix
    client = redis.Redis.from_url(url)
    first = CandleCache(store, l1_size=500, l2=RedisCandleCache(client, prefix))
    expected = first.recent(SERIES, 100)
    assert first.hits["store"] == 1
    last_ts = int(index_ms(expected)[-1])
    first.on_candle_closed(_closed(last_ts + H, 321.0))

    second = CandleCache(store, l1_size=500, l2=RedisCandleCache(client, prefix))
    frame = second.recent(SERIES, 100)
    assert second.hits == {"l1": 0, "l2": 1, "store": 0}
    assert len(frame) == 100
    assert frame["close"].iloc[-1] == 321.0  # the close written by the other process
    assert int(index_ms(frame)[-2]) == last_ts
    assert second.recent(SERIES, 300) is not None
    assert second.hits["store"] == 1  # 7 days of 1h candles (168) cannot answer 300: the store does


def test_l2_keeps_only_the_retention_window(redis_url_and_prefix: tuple[str, str]) -> None:
    url, prefix = redis_url_and_prefix
    client = redis.Redis.from_url(url)
    l2 = RedisCandleCache(client, prefix, days=1)
    candles = [Candle(i * H, 10, 11, 9, 10, 1) for i in range(48)]
    l2.put(SERIES, candles)
    kept = l2.recent(SERIES, 1000)
    assert [c.ts for c in kept] == [c.ts for c in candles[23:]]  # newest ts minus one day, inclusive
    l2.put(SERIES, [Candle(47 * H, 20, 21, 19, 20, 1)])
    assert l2.recent(SERIES, 1)[0].close == 20
    assert len(l2.recent(SERIES, 1000)) == 25
