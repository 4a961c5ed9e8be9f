"""The Redis stream bus on the real server: events come back identical and in order, to every subscriber."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing

import pytest
import redis
from redis.typing import EncodableT, FieldT
from structlog.testing import capture_logs

from tests.unit.storage.test_event_codec import assert_identical, every_event
from trading_agent.agent.bus import EventBus
from trading_agent.domain import CircuitBreakerTripped, Event
from trading_agent.services import ServiceError
from trading_agent.services.redis_bus import RedisStreamBus

pytestmark = pytest.mark.redis

T0 = 1_719_000_000_000
BLOCK_MS = 50
DOWN_URL = "redis://bus-user:s3cret@127.0.0.1:1/0"  # nothing listens on port 1


def tripped(count: int) -> list[Event]:
    return [CircuitBreakerTripped(ts_event=T0 + n, breaker="daily_loss", reason=f"trip {n}") for n in range(count)]


async def take(stream: AsyncIterator[Event], count: int) -> list[Event]:
    """The next ``count`` events (2 s at most)."""
    async with asyncio.timeout(2):
        return [await anext(stream) for _ in range(count)]


@pytest.fixture
async def bus(redis_url_and_prefix: tuple[str, str]) -> AsyncIterator[RedisStreamBus]:
    url, prefix = redis_url_and_prefix
    bus = RedisStreamBus.from_url(url, prefix, block_ms=BLOCK_MS)
    yield bus
    await bus.aclose()


@pytest.fixture
def raw(redis_url_and_prefix: tuple[str, str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url_and_prefix[0])
    yield client
    client.close()


async def test_every_event_comes_back_identical_and_in_order(bus: RedisStreamBus) -> None:
    events = every_event()
    publisher: EventBus = bus  # mypy checks that the Redis bus satisfies the protocol
    async with aclosing(bus.subscribe()) as stream:
        publisher.publish(events[:7])
        publisher.publish(events[7:])
        received = await take(stream, len(events))
    assert [type(event) for event in received] == [type(event) for event in events]
    for decoded, original in zip(received, events, strict=True):
        assert_identical(decoded, original)


async def test_two_subscribers_both_receive_everything(bus: RedisStreamBus) -> None:
    events = tripped(6)
    async with aclosing(bus.subscribe()) as one, aclosing(bus.subscribe()) as two:
        bus.publish(events[:1])
        bus.publish(events[1:])
        assert await take(one, 6) == events
        assert await take(two, 6) == events


async def test_a_subscriber_gets_only_what_is_published_after_subscribing(bus: RedisStreamBus) -> None:
    before, after = tripped(3), tripped(2)
    bus.publish(before)
    async with aclosing(bus.subscribe()) as stream:
        await asyncio.sleep(3 * BLOCK_MS / 1000)  # an XREAD or two time out empty: "$" was pinned at subscribe
        bus.publish(after)
        assert await take(stream, 2) == after


async def test_last_id_zero_replays_the_retained_stream_then_follows_it(bus: RedisStreamBus) -> None:
    old, new = tripped(4), tripped(2)
    bus.publish(old)
    async with aclosing(bus.subscribe(last_id="0")) as stream:
        assert await take(stream, 4) == old
        bus.publish(new)
        assert await take(stream, 2) == new


async def test_maxlen_keeps_the_stream_bounded(redis_url_and_prefix: tuple[str, str], raw: redis.Redis) -> None:
    url, prefix = redis_url_and_prefix
    bus = RedisStreamBus.from_url(url, prefix, maxlen=10, block_ms=BLOCK_MS)
    try:
        events = tripped(400)
        for start in range(0, len(events), 20):
            bus.publish(events[start : start + 20])
        node_setting = raw.config_get("stream-node-max-entries")["stream-node-max-entries"]
        assert node_setting is not None
        node_size = int(node_setting)
        length = raw.xlen(bus.key)
        assert 10 <= length <= 10 + node_size < len(events)  # "~": Redis trims whole nodes only
        async with aclosing(bus.subscribe(last_id="0")) as stream:
            assert await take(stream, length) == events[-length:]  # the newest survive, in order
    finally:
        await bus.aclose()


async def test_an_entry_that_does_not_decode_is_logged_and_skipped(bus: RedisStreamBus, raw: redis.Redis) -> None:
    good = tripped(2)
    garbage: list[dict[FieldT, EncodableT]] = [
        {"type": "CircuitBreakerTripped", "payload": "{not json"},
        {"payload": "{}"},
        {"type": "NoSuchEvent", "payload": "{}"},
        {"type": "CircuitBreakerTripped", "payload": "[1, 2]"},
        {"type": "CircuitBreakerTripped", "payload": '{"breaker": "daily_loss"}'},
    ]
    with capture_logs() as logs:
        async with aclosing(bus.subscribe()) as stream:
            bus.publish(good[:1])
            for fields in garbage:
                raw.xadd(bus.key, fields)
            raw.xadd(bus.key, {"type": "CircuitBreakerTripped", "payload": b"\xff\xfe"})
            bus.publish(good[1:])
            assert await take(stream, 2) == good
    bad = [log for log in logs if log["event"] == "bus_bad_entry"]
    assert len(bad) == len(garbage) + 1
    assert all(log["log_level"] == "warning" and log["stream"] == bus.key and log["entry_id"] for log in bad)
    assert "NoSuchEvent" in bad[2]["error"]


async def test_cancelling_a_waiting_subscriber_releases_it(bus: RedisStreamBus) -> None:
    stream: AsyncGenerator[Event, None] = bus.subscribe()
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(2 * BLOCK_MS / 1000)  # inside XREAD BLOCK
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await stream.aclose()
    events = tripped(2)
    async with aclosing(bus.subscribe()) as fresh:  # the client is still usable
        bus.publish(events)
        assert await take(fresh, 2) == events


async def test_breaking_out_of_a_subscription_leaves_the_bus_usable(bus: RedisStreamBus) -> None:
    events = tripped(3)
    async with aclosing(bus.subscribe()) as stream:
        bus.publish(events)
        async for event in stream:
            assert event == events[0]
            break
    async with aclosing(bus.subscribe(last_id="0")) as replay:
        assert await take(replay, 3) == events


def test_publishing_to_a_redis_that_is_down_names_the_server_and_stream() -> None:
    bus = RedisStreamBus.from_url(DOWN_URL, "ta-test-down:")
    try:
        with pytest.raises(
            ServiceError, match=r"cannot publish 2 event\(s\) to Redis stream 'ta-test-down:events' at"
        ) as err:
            bus.publish(tripped(2))
        message = str(err.value)
        assert "redis://bus-user:***@127.0.0.1:1/0" in message
        assert "s3cret" not in message
        with pytest.raises(ServiceError, match="cannot subscribe to Redis stream 'ta-test-down:events'"):
            bus.subscribe()
    finally:
        bus.close()


def test_publishing_nothing_does_not_touch_redis() -> None:
    bus = RedisStreamBus.from_url(DOWN_URL, "ta-test-down:")
    bus.publish([])
    bus.close()


def test_a_bus_without_an_asyncio_client_cannot_subscribe(redis_url_and_prefix: tuple[str, str]) -> None:
    url, prefix = redis_url_and_prefix
    bus = RedisStreamBus(redis.Redis.from_url(url), prefix)
    try:
        with pytest.raises(ServiceError, match="no asyncio client"):
            bus.subscribe()
    finally:
        bus.close()


@pytest.mark.parametrize(("maxlen", "block_ms"), [(0, 10), (10, -1)])
def test_bad_limits_are_refused(maxlen: int, block_ms: int) -> None:
    with pytest.raises(ValueError, match=r"maxlen|block_ms"):
        RedisStreamBus(redis.Redis(), "p:", maxlen=maxlen, block_ms=block_ms)
