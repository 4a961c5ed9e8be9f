"""A response cache for the expensive read routes: in this process, or in Redis when configured.

A value is kept for ``ttl_s`` seconds under a key the caller makes of what it depends on (the
service puts the journal's event count in it, so a new event means a new key and a fresh answer;
the time limit bounds a process that reads a journal another process writes). In process it is a
``cachetools.TTLCache``; with Redis the value is stored as its JSON under ``prefix`` with Redis's own
expiry, so every process on the same Redis shares it. Redis failing is logged and the value
computed: the cache can make an answer faster, never make it fail. ``ttl_s = 0`` turns it off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import structlog
from cachetools import TTLCache
from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["ResponseCache"]

_log = structlog.get_logger(__name__)
_MAX_ENTRIES = 512
Model = TypeVar("Model", bound=BaseModel)


class ResponseCache:
    """Pydantic answers by key, for ``ttl_s`` seconds (see the module docstring)."""

    def __init__(self, ttl_s: float, *, redis: Redis | None = None, prefix: str = "trading_agent:cache:") -> None:
        self.ttl_s = ttl_s
        self._redis = redis
        self._prefix = prefix
        self._local: TTLCache[str, BaseModel] | None = TTLCache(_MAX_ENTRIES, ttl_s) if ttl_s > 0 else None
        self._lock = threading.Lock()  # the analyses run in worker threads; TTLCache is not thread-safe
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: str, model: type[Model], compute: Callable[[], Model]) -> Model:
        """The cached answer for ``key``, else ``compute()`` (then cached)."""
        if self.ttl_s <= 0:
            return compute()
        cached = self._get(key, model)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        value = compute()
        self._put(key, value)
        return value

    def _get(self, key: str, model: type[Model]) -> Model | None:
        if self._redis is None:
            with self._lock:
                found = self._local.get(key) if self._local is not None else None
            return found if isinstance(found, model) else None
        try:
            text = self._redis.get(self._prefix + key)
        except Exception as exc:  # any Redis failure: compute instead
            _log.warning("response_cache_unavailable", error=str(exc))
            return None
        if text is None:
            return None
        try:
            return model.model_validate_json(text)
        except ValidationError as exc:  # written by another version sharing the Redis: compute it afresh
            _log.warning("response_cache_unreadable", key=key, error=str(exc))
            return None

    def _put(self, key: str, value: BaseModel) -> None:
        if self._redis is None:
            if self._local is not None:
                with self._lock:
                    self._local[key] = value
            return
        try:
            self._redis.set(self._prefix + key, value.model_dump_json(), px=max(1, int(self.ttl_s * 1000)))
        except Exception as exc:  # any Redis failure: the answer is still good
            _log.warning("response_cache_unavailable", error=str(exc))
