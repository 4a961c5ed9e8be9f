"""``services.cache.ResponseCache``: in process (hits, keys, ttl 0, expiry) and on the real Redis server.

On Redis: a second cache on the same server and prefix reads the first one's value, keys carry the
prefix with Redis's own expiry, and an unreachable or confused Redis makes it compute instead of failing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from pydantic import BaseModel

from trading_agent.services.cache import ResponseCache


class Answer(BaseModel):
    value: int
    label: str


class Other(BaseModel):
    name: str


class Counter:
    """A compute function that counts its calls and answers a new value each time."""

    def __init__(self) -> None:
        self.calls = 0
        self._values = itertools.count(1)

    def __call__(self) -> Answer:
        self.calls += 1
        value = next(self._values)
        return Answer(value=value, label=f"computed #{value}")


@pytest.fixture
def shared_redis(redis_url_and_prefix: tuple[str, str]) -> Iterator[tuple[redis.Redis, str]]:
    url, prefix = redis_url_and_prefix
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        yield client, prefix
    finally:
        client.close()


def test_the_second_call_with_the_same_key_is_a_hit() -> None:
    cache, compute = ResponseCache(60), Counter()
    first = cache.get_or_compute("risk:paper:10", Answer, compute)
    second = cache.get_or_compute("risk:paper:10", Answer, compute)
    assert compute.calls == 1 and first == second == Answer(value=1, label="computed #1")
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_different_key_computes_again() -> None:
    cache, compute = ResponseCache(60), Counter()
    assert cache.get_or_compute("risk:paper:10", Answer, compute).value == 1
    assert cache.get_or_compute("risk:paper:11", Answer, compute).value == 2  # a new journal event: a new key
    assert cache.get_or_compute("risk:paper:10", Answer, compute).value == 1
    assert compute.calls == 2 and (cache.hits, cache.misses) == (1, 2)


def test_a_cached_value_of_another_model_is_not_returned() -> None:
    cache = ResponseCache(60)
    cache.get_or_compute("k", Other, lambda: Other(name="x"))
    assert cache.get_or_compute("k", Answer, Counter()) == Answer(value=1, label="computed #1")


def test_ttl_zero_never_caches() -> None:
    cache, compute = ResponseCache(0), Counter()
    values = [cache.get_or_compute("k", Answer, compute).value for _ in range(3)]
    assert values == [1, 2, 3] and compute.calls == 3


def test_a_value_expires_after_its_ttl() -> None:
    cache, compute = ResponseCache(0.1), Counter()
    assert cache.get_or_compute("k", Answer, compute).value == 1
    assert cache.get_or_compute("k", Answer, compute).value == 1
    time.sleep(0.25)
    assert cache.get_or_compute("k", Answer, compute).value == 2
    assert compute.calls == 2


@pytest.mark.redis
def test_a_second_cache_on_the_same_redis_and_prefix_reads_the_first_ones_value(
    shared_redis: tuple[redis.Redis, str],
) -> None:
    client, prefix = shared_redis
    writer = ResponseCache(60, redis=client, prefix=prefix)
    reader = ResponseCache(60, redis=redis.Redis(connection_pool=client.connection_pool), prefix=prefix)
    written = writer.get_or_compute("performance:paper:42:day", Answer, Counter())
    never: Callable[[], Answer] = lambda: pytest.fail("the value is in Redis: nothing to compute")  # noqa: E731
    read = reader.get_or_compute("performance:paper:42:day", Answer, never)
    assert read == written and reader.hits == 1 and reader.misses == 0


@pytest.mark.redis
def test_redis_keys_carry_the_prefix_and_redis_expiry(shared_redis: tuple[redis.Redis, str]) -> None:
    client, prefix = shared_redis
    cache = ResponseCache(30, redis=client, prefix=prefix)
    answer = cache.get_or_compute("risk:paper:7", Answer, Counter())
    keys = sorted(k.decode() for k in client.scan_iter(match=f"{prefix}*"))
    assert keys == [f"{prefix}risk:paper:7"]
    assert Answer.model_validate_json(client.get(keys[0])) == answer  # type: ignore[arg-type]
    assert 0 < client.pttl(keys[0]) <= 30_000


@pytest.mark.redis
def test_redis_values_expire_with_the_ttl(shared_redis: tuple[redis.Redis, str]) -> None:
    client, prefix = shared_redis
    cache, compute = ResponseCache(0.1, redis=client, prefix=prefix), Counter()
    assert cache.get_or_compute("k", Answer, compute).value == 1
    assert cache.get_or_compute("k", Answer, compute).value == 1
    time.sleep(0.25)
    assert cache.get_or_compute("k", Answer, compute).value == 2


@pytest.mark.redis
def test_ttl_zero_writes_nothing_to_redis(shared_redis: tuple[redis.Redis, str]) -> None:
    client, prefix = shared_redis
    cache, compute = ResponseCache(0, redis=client, prefix=prefix), Counter()
    assert [cache.get_or_compute("k", Answer, compute).value for _ in range(2)] == [1, 2]
    assert list(client.scan_iter(match=f"{prefix}*")) == []


def test_an_unreachable_redis_computes_instead_of_failing() -> None:
    # Built like ``Services.open`` builds its client (``from_url``: redis-py 8 then retries nothing, where a
    # ``redis.Redis(host=...)`` backs off ~4 s per command). Nothing listens on port 1.
    down = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    cache, compute = ResponseCache(60, redis=down, prefix="ta-test-down:"), Counter()
    started = time.monotonic()
    values = [cache.get_or_compute("k", Answer, compute).value for _ in range(2)]
    assert values == [1, 2] and compute.calls == 2  # nothing could be kept
    assert time.monotonic() - started < 3


@pytest.mark.redis
def test_a_value_in_redis_that_no_longer_parses_is_recomputed(shared_redis: tuple[redis.Redis, str]) -> None:
    """Another process (an older version, say) left a value of another shape under the key: compute, do not fail."""
    client, prefix = shared_redis
    client.set(f"{prefix}risk:paper:1", '{"value": "not a number"}', px=60_000)
    cache = ResponseCache(60, redis=client, prefix=prefix)
    assert cache.get_or_compute("risk:paper:1", Answer, Counter()) == Answer(value=1, label="computed #1")
