"""The event bus: journaled events announced to whoever listens (API, bot, metrics, status view).

The engine publishes each committed step (``engine.journal.Publisher``); subscribers iterate
``subscribe()``. ``InProcessBus`` is the embedded default: one bounded asyncio queue per
subscriber, filled without blocking the publisher. A subscriber that falls ``capacity`` events
behind loses the oldest ones (counted in ``dropped``), so a slow listener can never stall trading:
the journal, not the bus, is the record. ``services.redis_bus.RedisStreamBus`` has the same
interface across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import structlog

from trading_agent.domain import Event
from trading_agent.engine.journal import Publisher

__all__ = ["BestEffortPublisher", "EventBus", "InProcessBus"]

_log = structlog.get_logger(__name__)


class EventBus(Protocol):
    """Publish committed events; iterate them from ``subscribe()``."""

    def publish(self, events: Sequence[Event]) -> None:
        """Announce ``events`` (already journaled), in order."""

    def subscribe(self) -> AsyncIterator[Event]:
        """Every event published from now on, in order, until the iterator is closed."""


class InProcessBus:
    """Fan-out to asyncio queues in this process (publish from the event loop's thread)."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"bus capacity must be at least 1, got {capacity}")
        self._capacity = capacity
        self._queues: list[asyncio.Queue[Event]] = []
        self.dropped = 0

    def publish(self, events: Sequence[Event]) -> None:
        """Put ``events`` on every subscriber's queue; a full queue drops its oldest event."""
        for queue in self._queues:
            for event in events:
                if queue.full():
                    queue.get_nowait()
                    self.dropped += 1
                queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[Event]:
        """Events published after this call, until the caller stops iterating."""
        queue: asyncio.Queue[Event] = asyncio.Queue(self._capacity)
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)


class BestEffortPublisher:
    """Announce through ``publisher``, logging (not raising) its failures: a bus outage never stops trading.

    The events are journaled before they are announced, so a listener that missed some reads them
    from the journal; ``failures`` counts the batches lost to the bus.
    """

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self.failures = 0

    def publish(self, events: Sequence[Event]) -> None:
        """Publish ``events``; a failure is logged and counted."""
        try:
            self._publisher.publish(events)
        except Exception as exc:
            self.failures += 1
            _log.warning("bus_publish_failed", events=len(events), error=str(exc), failures=self.failures)
