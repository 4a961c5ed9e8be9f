"""The signed REST client against the fake server, which verifies every signature."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.testkit.fake_delta import API_SECRET, FakeDelta, prehash, sign
from trading_agent.config import ConfigError, DeltaEnvironment
from trading_agent.data.delta import DeltaApiError, DeltaPrivateClient, LiveOrderRefusedError
from trading_agent.data.errors import RateLimitedError
from trading_agent.domain import Side


async def test_signed_get_verifies_and_carries_the_documented_headers(fake: FakeDelta) -> None:
    async with DeltaPrivateClient(fake.settings(signed=True)) as client:
        orders = await client.fetch_open_orders(product_ids=[27, 3136])
    assert orders == []
    [request] = fake.requests
    assert request.raw_query == "product_ids=27%2C3136&page_size=100"
    headers = request.headers
    assert headers["api-key"] == "fake-api-key" and headers["User-Agent"]
    assert headers["timestamp"].isdigit() and len(headers["timestamp"]) == 10  # seconds
    payload = prehash("GET", headers["timestamp"], "/v2/orders", request.raw_query, "")
    assert headers["signature"] == sign(API_SECRET, payload)


async def test_signed_post_signs_the_exact_compact_body(fake: FakeDelta) -> None:
    async with DeltaPrivateClient(fake.settings(signed=True)) as client:
        order = await client.create_order(
            "BTCUSD", Side.BUY, 2, limit_price=Decimal("50000.5"), client_order_id="agent-1"
        )
    assert (order.state, order.size, order.limit_price, order.client_order_id) == (
        "open",
        2,
        Decimal("50000.5"),
        "agent-1",
    )
    [request] = fake.requests
    assert request.body == (
        '{"product_symbol":"BTCUSD","size":2,"side":"buy","order_type":"limit_order",'
        '"reduce_only":false,"post_only":false,"limit_price":"50000.5","client_order_id":"agent-1"}'
    )
    assert request.headers["Content-Type"] == "application/json"
    payload = prehash("POST", request.headers["timestamp"], "/v2/orders", "", request.body)
    assert request.headers["signature"] == sign(API_SECRET, payload)


async def test_account_reads(fake: FakeDelta) -> None:
    async with DeltaPrivateClient(fake.settings(signed=True)) as client:
        [balance] = await client.fetch_balances()
        [position] = await client.fetch_positions()
        market = await client.create_order("ETHUSD", Side.SELL, 3)
        limit = await client.create_order("BTCUSD", Side.BUY, 1, limit_price=Decimal(40000))
        [fill] = await client.fetch_fills(start_ms=0)
        [open_order] = await client.fetch_open_orders()
        cancelled = await client.cancel_order(limit.id, limit.product_id)
        assert await client.fetch_open_orders() == []
    assert balance.asset_symbol == "USD" and balance.available_balance == Decimal("900.25")
    assert position.size == -3 and position.liquidation_price == Decimal(79000)
    assert market.order_type == "market_order" and market.state == "closed"
    assert (fill.order_id, fill.side, fill.size) == (market.id, Side.SELL, 3)
    assert open_order.id == limit.id and cancelled.state == "cancelled"
    cancel_request = next(r for r in fake.requests if r.method == "DELETE")
    assert cancel_request.body == f'{{"id":{limit.id},"product_id":27}}'
    fills_request = next(r for r in fake.requests if r.path == "/v2/fills")
    assert fills_request.query["page_size"] == "50" and fills_request.query["start_time"] == "0"


async def test_an_expired_signature_is_reported_with_its_code(fake: FakeDelta) -> None:
    fake.clock_skew_s = 30
    async with DeltaPrivateClient(fake.settings(signed=True)) as client:
        with pytest.raises(DeltaApiError) as caught:
            await client.fetch_balances()
    assert (caught.value.status, caught.value.code) == (401, "SignatureExpired")


async def test_a_wrong_secret_is_an_invalid_signature(fake: FakeDelta) -> None:
    async with DeltaPrivateClient(fake.settings(signed=True, api_secret="not-the-secret")) as client:
        with pytest.raises(DeltaApiError, match="invalid_signature"):
            await client.fetch_positions()


def test_credentials_are_required(fake: FakeDelta) -> None:
    with pytest.raises(ConfigError, match="TRADING_AGENT_DELTA__API_KEY"):
        DeltaPrivateClient(fake.settings())


@pytest.mark.parametrize(
    "overrides",
    [
        {"environment": DeltaEnvironment.INDIA_PROD},
        {"rest_url": "https://api.india.delta.exchange"},
        {"rest_url": "https://API.delta.exchange:443"},
    ],
)
async def test_orders_are_refused_outside_the_testnet(fake: FakeDelta, overrides: dict) -> None:
    async with DeltaPrivateClient(fake.settings(signed=True, **overrides)) as client:
        with pytest.raises(LiveOrderRefusedError, match="refusing to create an order"):
            await client.create_order("BTCUSD", Side.BUY, 1)
        with pytest.raises(LiveOrderRefusedError, match="refusing to cancel an order"):
            await client.cancel_order(1, 27)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("size", "options", "problem"),
    [
        (0, {}, "size"),
        (1.5, {}, "size"),
        (1, {"limit_price": Decimal(0)}, "limit_price"),
        (1, {"client_order_id": "x" * 33}, "client_order_id"),
    ],
)
async def test_bad_orders_are_refused_locally(fake: FakeDelta, size: object, options: dict, problem: str) -> None:
    async with DeltaPrivateClient(fake.settings(signed=True)) as client:
        with pytest.raises(ValueError, match=problem):
            await client.create_order("BTCUSD", Side.BUY, size, **options)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_mutations_are_not_retried_on_429(fake: FakeDelta) -> None:
    fake.rate_limit_next(1, reset_ms=10)
    async with DeltaPrivateClient(fake.settings(signed=True)) as client:
        with pytest.raises(RateLimitedError, match="not retried"):
            await client.create_order("BTCUSD", Side.BUY, 1)
    assert len(fake.requests) == 1 and fake.orders == {}


async def test_an_order_the_exchange_rejects(fake: FakeDelta) -> None:
    async with DeltaPrivateClient(fake.settings(signed=True)) as client:
        with pytest.raises(DeltaApiError, match="open_order_not_found"):
            await client.cancel_order(999, 27)
