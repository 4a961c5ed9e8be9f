"""The in-process bus: fan-out in order, subscribers removed when they stop, drop-oldest when one falls behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import cast

import pytest

from trading_agent.agent.bus import InProcessBus
from trading_agent.domain import CircuitBreakerTripped, Event

T0 = 1_719_000_000_000


def tripped(count: int) -> list[Event]:
    """``count`` distinct events (each has its own ``event_id``)."""
    return [CircuitBreakerTripped(ts_event=T0 + n, breaker="daily_loss", reason=f"trip {n}") for n in range(count)]


def subscription(bus: InProcessBus) -> AsyncGenerator[Event, None]:
    """``bus.subscribe()`` as what it is, an async generator (typed as an iterator by the protocol)."""
    return cast(AsyncGenerator[Event, None], bus.subscribe())


async def subscribed(bus: InProcessBus) -> tuple[AsyncGenerator[Event, None], asyncio.Task[Event]]:
    """A subscription that is registered (waiting for its first event), and the task awaiting that event."""
    stream = subscription(bus)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the subscription registers its queue when it first runs
    return stream, first


async def take(stream: AsyncGenerator[Event, None], first: asyncio.Task[Event], count: int) -> list[Event]:
    async with asyncio.timeout(2):
        return [await first] + [await anext(stream) for _ in range(count - 1)]


async def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = InProcessBus()
    (one, one_first), (two, two_first) = await subscribed(bus), await subscribed(bus)
    events = tripped(5)
    async with aclosing(one), aclosing(two):
        bus.publish(events[:2])
        bus.publish(events[2:])
        assert await take(one, one_first, 5) == events
        assert await take(two, two_first, 5) == events
    assert bus.dropped == 0


async def test_a_subscriber_that_stops_iterating_is_removed() -> None:
    bus = InProcessBus(capacity=1)
    events = tripped(4)
    received: list[Event] = []
    async with aclosing(subscription(bus)) as stream:
        reading = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        bus.publish(events[:1])
        received.append(await reading)
    bus.publish(events[1:])  # a queue still registered would overflow and drop two
    assert received == events[:1]
    assert bus.dropped == 0


async def test_breaking_out_of_async_for_removes_the_subscriber() -> None:
    bus = InProcessBus(capacity=2)
    events = tripped(5)
    stream, first = await subscribed(bus)
    bus.publish(events[:2])
    assert await first == events[0]
    async with aclosing(stream):
        async for event in stream:
            assert event == events[1]
            break
    bus.publish(events[2:])  # a queue still registered would overflow and drop one
    assert bus.dropped == 0


async def test_a_subscriber_capacity_behind_loses_the_oldest_events() -> None:
    bus = InProcessBus(capacity=3)
    stream, first = await subscribed(bus)
    events = tripped(8)
    async with aclosing(stream):
        bus.publish(events[:5])
        bus.publish(events[5:])
        assert bus.dropped == 5
        assert await take(stream, first, 3) == events[5:]  # even the read already waiting gets the oldest kept


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_below_one_is_refused(capacity: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InProcessBus(capacity=capacity)
