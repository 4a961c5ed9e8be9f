"""The public REST client against the local fake Delta server."""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest

from tests.testkit.fake_delta import MAX_CANDLES, ORIGIN_MS, FakeDelta
from trading_agent.config import DeltaSettings
from trading_agent.data.delta import DeltaApiError, DeltaRestClient, RetryPolicy, instrument_from_product
from trading_agent.data.errors import DataError, ExchangeError, ExchangeUnavailableError, RateLimitedError
from trading_agent.data.frames import frame_from_candles
from trading_agent.domain import InstrumentId, Timeframe

MINUTE = 60_000
FAST_RETRY = RetryPolicy(max_retries=2, max_wait_s=1.0, default_wait_s=0.05)


def candle_requests(fake: FakeDelta) -> list[dict[str, str]]:
    return [dict(r.query) for r in fake.requests if r.path == "/v2/history/candles"]


async def test_products_are_live_perpetuals_across_pages(fake: FakeDelta) -> None:
    fake.max_page_size = 1
    async with DeltaRestClient(fake.settings()) as client:
        products = await client.fetch_products()
    assert [p.symbol for p in products] == ["BTCUSD", "ETHUSD"]
    pages = [r.query for r in fake.requests if r.path == "/v2/products"]
    assert [page.get("after") for page in pages] == [None, "1"]
    assert pages[0]["contract_types"] == "perpetual_futures" and pages[0]["states"] == "live"
    instrument = instrument_from_product(products[0])
    assert instrument.id == InstrumentId("delta_india", "BTCUSD")
    assert instrument.max_leverage == 200 and instrument.initial_margin == Decimal("0.005")


async def test_one_product_and_an_unknown_one(fake: FakeDelta) -> None:
    async with DeltaRestClient(fake.settings()) as client:
        assert (await client.fetch_product("ETHUSD")).contract_value == Decimal("0.01")
        with pytest.raises(DeltaApiError) as caught:
            await client.fetch_product("DOGEUSD")
    assert (caught.value.status, caught.value.code) == (404, "invalid_contract")


async def test_ticker(fake: FakeDelta) -> None:
    async with DeltaRestClient(fake.settings()) as client:
        ticker = await client.fetch_ticker("BTCUSD")
    last = fake.series("BTCUSD", Timeframe.M1)[fake.live_index - 1].close
    assert ticker.last_price == Decimal(str(last))
    assert ticker.mark_price == Decimal(str(last + 0.5))
    assert ticker.funding_rate == Decimal("0.0001")  # "0.01" percent per 8 h
    assert ticker.ts == fake.now_ms()


async def test_5000_candles_in_three_requests_exactly(fake: FakeDelta) -> None:
    progress: list[tuple[int, int]] = []
    start, end = ORIGIN_MS, ORIGIN_MS + 5000 * MINUTE
    async with DeltaRestClient(fake.settings()) as client:
        frame = await client.fetch_candles(
            "BTCUSD", Timeframe.M1, start, end, on_progress=lambda done, total: progress.append((done, total))
        )
    expected = frame_from_candles(fake.series("BTCUSD", Timeframe.M1)[:5000])
    assert frame.equals(expected)
    assert frame.index.is_unique and frame.index.is_monotonic_increasing
    requests = candle_requests(fake)
    assert len(requests) == 3 and progress == [(1, 3), (2, 3), (3, 3)]
    for query in requests:
        assert query["resolution"] == "1m" and query["symbol"] == "BTCUSD"
        assert (int(query["end"]) - int(query["start"])) // 60 + 1 <= MAX_CANDLES


async def test_range_is_half_open_and_unaligned_starts_skip_the_partial_bar(fake: FakeDelta) -> None:
    series = fake.series("ETHUSD", Timeframe.H1)
    async with DeltaRestClient(fake.settings()) as client:
        frame = await client.fetch_candles("ETHUSD", Timeframe.H1, series[2].ts + 1, series[6].ts)
    assert frame.equals(frame_from_candles(series[3:6]))


async def test_mark_price_candles(fake: FakeDelta) -> None:
    series = fake.series("MARK:BTCUSD", Timeframe.M5)
    async with DeltaRestClient(fake.settings()) as client:
        frame = await client.fetch_candles("MARK:BTCUSD", Timeframe.M5, series[0].ts, series[10].ts)
    assert frame["close"].tolist() == [c.close for c in series[:10]]
    assert frame["volume"].tolist() == [0.0] * 10
    assert candle_requests(fake)[0]["symbol"] == "MARK:BTCUSD"


async def test_the_in_progress_candle_is_returned_as_it_stands(fake: FakeDelta) -> None:
    await fake.advance()
    async with DeltaRestClient(fake.settings()) as client:
        frame = await client.fetch_candles("BTCUSD", Timeframe.M1, fake.now_ms() - 3 * MINUTE, fake.now_ms() + MINUTE)
    assert len(frame) == 3
    assert frame["close"].iloc[-1] == fake.current_candle("BTCUSD").close


async def test_3d_is_refused_without_a_request(fake: FakeDelta) -> None:
    async with DeltaRestClient(fake.settings()) as client:
        with pytest.raises(DataError, match="resample"):
            await client.fetch_candles("BTCUSD", Timeframe.D3, ORIGIN_MS, ORIGIN_MS + 10 * Timeframe.D3.ms)
        with pytest.raises(ValueError, match="after end_ms"):
            await client.fetch_candles("BTCUSD", Timeframe.M1, ORIGIN_MS + 1, ORIGIN_MS)
    assert fake.requests == []


async def test_429_is_retried_after_the_reset_header(fake: FakeDelta) -> None:
    fake.rate_limit_next(2, reset_ms=150)
    started = time.monotonic()
    async with DeltaRestClient(fake.settings(), retry=FAST_RETRY) as client:
        ticker = await client.fetch_ticker("BTCUSD")
    assert ticker.symbol == "BTCUSD"
    assert time.monotonic() - started >= 0.3
    assert len(fake.requests) == 3


async def test_429_wait_is_capped(fake: FakeDelta) -> None:
    fake.rate_limit_next(1, reset_ms=300_000)
    started = time.monotonic()
    async with DeltaRestClient(fake.settings(), retry=RetryPolicy(max_wait_s=0.1)) as client:
        await client.fetch_ticker("BTCUSD")
    assert time.monotonic() - started < 2


async def test_429_without_end_gives_up(fake: FakeDelta) -> None:
    fake.rate_limit_next(10, reset_ms=None)
    async with DeltaRestClient(fake.settings(), retry=FAST_RETRY) as client:
        with pytest.raises(RateLimitedError, match="after 3 attempt"):
            await client.fetch_ticker("BTCUSD")
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ({"success": False, "error": {"code": "bad_schema", "context": {"param": "symbol"}}}, "bad_schema", "symbol"),
        ({"error": "SignatureExpired", "message": "your signature has expired"}, "SignatureExpired", "expired"),
    ],
)
async def test_error_shapes_name_the_code(fake: FakeDelta, body: dict, code: str, text: str) -> None:
    fake.fail_next(400, body)
    async with DeltaRestClient(fake.settings()) as client:
        with pytest.raises(DeltaApiError) as caught:
            await client.fetch_ticker("BTCUSD")
    assert caught.value.code == code and text in str(caught.value)


async def test_maintenance_is_unavailable(fake: FakeDelta) -> None:
    fake.fail_next(503, "<html>maintenance</html>")
    async with DeltaRestClient(fake.settings()) as client:
        with pytest.raises(ExchangeUnavailableError, match="maintenance"):
            await client.fetch_ticker("BTCUSD")


async def test_malformed_json_is_an_exchange_error(fake: FakeDelta) -> None:
    fake.malformed_next()
    async with DeltaRestClient(fake.settings()) as client:
        with pytest.raises(ExchangeError, match="not JSON"):
            await client.fetch_products()


async def test_a_slow_answer_times_out(fake: FakeDelta) -> None:
    fake.delay_next(2.0)
    started = time.monotonic()
    async with DeltaRestClient(fake.settings(timeout_s=0.3)) as client:
        with pytest.raises(ExchangeUnavailableError, match=r"no answer within 0\.3 s"):
            await client.fetch_ticker("BTCUSD")
    assert time.monotonic() - started < 1.5


async def test_an_unresolvable_host_fails_fast_with_one_line() -> None:
    settings = DeltaSettings(rest_url="https://api.india.delta.exchange.invalid", timeout_s=10)
    started = time.monotonic()
    async with DeltaRestClient(settings) as client:
        with pytest.raises(ExchangeUnavailableError) as caught:
            await client.fetch_ticker("BTCUSD")
    assert time.monotonic() - started < 3
    message = str(caught.value)
    assert message == "no connection to Delta Exchange at api.india.delta.exchange.invalid: DNS lookup failed"


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


@pytest.mark.skipif(_resolves("api.india.delta.exchange"), reason="this machine is online: would reach Delta")
async def test_the_default_india_host_fails_fast_offline() -> None:
    started = time.monotonic()
    async with DeltaRestClient(DeltaSettings()) as client:
        with pytest.raises(ExchangeUnavailableError, match=r"at api\.india\.delta\.exchange: DNS lookup failed"):
            await client.fetch_products()
    assert time.monotonic() - started < 3


async def test_a_closed_port_fails_fast() -> None:
    async with FakeDelta() as gone:
        settings = gone.settings(timeout_s=10)
    started = time.monotonic()
    async with DeltaRestClient(settings) as client:
        with pytest.raises(
            ExchangeUnavailableError,
            match=r"no connection to Delta Exchange at 127\.0\.0\.1:\d+: connection failed \(Connection refused\)",
        ):
            await client.fetch_products()
    assert time.monotonic() - started < 3
