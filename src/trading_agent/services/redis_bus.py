"""The event bus across processes: one Redis stream that the agent writes and the API and bot read.

``RedisStreamBus`` has the interface of ``agent.bus.EventBus``. ``publish`` XADDs each event to the
stream ``{prefix}{stream}`` as two fields, ``type`` (the event class name) and ``payload`` (the
journal's JSON encoding, ``storage.event_codec``), in one MULTI/EXEC pipeline: a batch lands whole
and contiguous. ``subscribe`` XREADs the stream (no consumer group), so every subscriber sees every
event, in stream order, which is publish order.

Retention: every XADD trims the stream to about ``maxlen`` entries (``MAXLEN ~``: Redis drops whole
nodes, so the stream may hold up to one node, ``stream-node-max-entries``, more). A subscriber that
falls more than that behind loses the oldest entries it had not read, as a slow subscriber of
``InProcessBus`` does; nothing waits for a reader.

Delivery: within one subscription each retained entry is yielded once, in order (the generator
resumes XREAD after the last id it saw). There are no acknowledgements and no redelivery: with the
default ``last_id="$"`` a subscriber gets only what is published after ``subscribe()`` returns, so
a crashed and restarted reader misses what came in between (at most once); ``last_id="0"`` replays
the whole retained stream first, so a restarted reader gets some events again (at least once:
deduplicate by ``event_id``). A publish that fails raises ``ServiceError`` after the events were
journaled. This is why the journal, not the bus, is the record: the bus announces, bounded and
best effort, and anything that must not miss an event reads the journal.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import redis
import redis.asyncio
import structlog
from redis.typing import EncodableT, FieldT

from trading_agent.domain import Event
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.storage.errors import StorageError
from trading_agent.storage.event_codec import decode_event, encode_event

__all__ = ["RedisStreamBus"]

_log = structlog.get_logger(__name__)

_READ_BATCH = 500  # entries per XREAD: bounds one reply's memory, not throughput
_OLDEST_ID = "0-0"


class RedisStreamBus:
    """Publish events to a Redis stream; iterate them from ``subscribe()`` in any process.

    ``client`` publishes (synchronously, from the engine's commit); ``async_client`` serves the
    subscriptions and may be omitted by a process that only publishes. ``from_url`` builds both.
    ``block_ms`` is how long one XREAD waits for news; keep the async client's ``socket_timeout``
    (none by default) above it.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        async_client: redis.asyncio.Redis | None = None,
        stream: str = "events",
        maxlen: int = 100_000,
        block_ms: int = 1000,
    ) -> None:
        if maxlen < 1:
            raise ValueError(f"bus maxlen must be at least 1, got {maxlen}")
        if block_ms < 0:
            raise ValueError(f"bus block_ms must not be negative, got {block_ms}")
        self._client = client
        self._async_client = async_client
        self._key = f"{prefix}{stream}"
        self._maxlen = maxlen
        self._block_ms = block_ms
        self._where = f"Redis stream {self._key!r} at {_describe(client)}"

    @classmethod
    def from_url(cls, url: str, prefix: str, **kwargs: Any) -> RedisStreamBus:
        """A bus with a sync and an asyncio client on ``url``; ``kwargs`` go to ``__init__``."""
        return cls(redis.Redis.from_url(url), prefix, async_client=redis.asyncio.Redis.from_url(url), **kwargs)

    @property
    def key(self) -> str:
        """The stream's Redis key, ``{prefix}{stream}``."""
        return self._key

    def publish(self, events: Sequence[Event]) -> None:
        """XADD ``events`` in order, in one transaction, trimming the stream to about ``maxlen``.

        Raises ``ServiceError`` naming the stream and the server (password masked) when Redis fails.
        """
        if not events:
            return
        with service_errors():
            entries = [_entry(event) for event in events]
        pipe = self._client.pipeline(transaction=True)
        for fields in entries:
            pipe.xadd(self._key, fields, maxlen=self._maxlen, approximate=True)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            raise ServiceError(f"cannot publish {len(entries)} event(s) to {self._where}: {exc}") from exc

    def subscribe(self, *, last_id: str = "$") -> AsyncGenerator[Event, None]:
        """Events after stream id ``last_id``, in order, until the caller stops iterating.

        ``"$"`` (the default) means those published after this call: the newest id is looked up
        now, with one synchronous round trip, so nothing published between this call and the first
        read is missed. ``"0"`` replays the whole retained stream first. An entry that does not
        decode is logged (``bus_bad_entry``) and skipped. Raises ``ServiceError`` when Redis fails
        (here for ``"$"``, else while iterating) or when the bus was built without an asyncio client.
        """
        if self._async_client is None:
            raise ServiceError(
                f"cannot subscribe to {self._where}: the bus has no asyncio client "
                "(pass async_client or build it with RedisStreamBus.from_url)"
            )
        start = self._newest_id() if last_id == "$" else last_id
        return self._read_after(self._async_client, start)

    def close(self) -> None:
        """Close the publishing client (``aclose`` closes the asyncio one too)."""
        self._client.close()

    async def aclose(self) -> None:
        """Close both clients."""
        if self._async_client is not None:
            await self._async_client.aclose()
        self._client.close()

    def _newest_id(self) -> bytes | str:
        try:
            newest = self._client.xrevrange(self._key, count=1)
        except redis.RedisError as exc:
            raise ServiceError(f"cannot subscribe to {self._where}: {exc}") from exc
        newest_id = newest[0][0] if newest else None
        return _OLDEST_ID if newest_id is None else newest_id

    async def _read_after(self, client: redis.asyncio.Redis, after: bytes | str) -> AsyncGenerator[Event, None]:
        while True:
            try:
                reply = await client.xread({self._key: after}, count=_READ_BATCH, block=self._block_ms)
            except redis.RedisError as exc:
                raise ServiceError(f"cannot read {self._where}: {exc}") from exc
            for entry_id, fields in _stream_entries(reply):
                after = entry_id  # a bad entry is passed over too
                try:
                    event = _decode_entry(fields)
                except (StorageError, ValueError, KeyError, TypeError) as exc:
                    _log.warning("bus_bad_entry", stream=self._key, entry_id=_text(entry_id), error=str(exc))
                    continue
                yield event


def _entry(event: Event) -> dict[FieldT, EncodableT]:
    event_type, payload = encode_event(event)
    return {"type": event_type, "payload": json.dumps(payload, separators=(",", ":"), allow_nan=False)}


def _decode_entry(fields: Mapping[Any, Any] | None) -> Event:
    if fields is None:
        raise ValueError("the entry has no fields")
    decoded = {_text(name): _text(value) for name, value in fields.items()}
    payload = json.loads(decoded["payload"])
    if not isinstance(payload, dict):
        raise ValueError(f"payload is a JSON {type(payload).__name__}, not an object")
    return decode_event(decoded["type"], payload)


def _stream_entries(reply: Any) -> list[tuple[bytes | str, Mapping[Any, Any] | None]]:
    # One stream was read: RESP2 gives [[key, entries]], RESP3 {key: entries}; nothing new gives None or empty.
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else (entries for _key, entries in reply)
    return [(entry_id, fields) for entries in streams for entry_id, fields in entries]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _describe(client: redis.Redis) -> str:
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    user = kwargs.get("username") or ""
    credentials = f"{user}:***@" if kwargs.get("password") else (f"{user}@" if user else "")
    if "path" in kwargs:
        return f"unix://{credentials}{kwargs['path']}?db={kwargs.get('db', 0)}"
    scheme = "rediss" if issubclass(pool.connection_class, redis.SSLConnection) else "redis"
    return f"{scheme}://{credentials}{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
