"""Candle caches in front of the store: L1 in memory, L2 in Redis (optional).

* L1: the last ``l1_size`` (1000) candles of each series, in process.
* L2: the last ``days`` (7) days of each series in a Redis sorted set (score = open time), shared
  by every process (agent, API, bot) when ``TRADING_AGENT_REDIS_URL`` is set. A read that L2 can
  answer in full (7 days of 1h candles is 168) does not touch the store.
* L3 is the store itself (full history).

Invalidation is event-driven: ``on_candle_closed`` writes the new candle through L1 and L2 and drops
the frames materialised from that series, so a reader never sees a window without the latest close.
"""

from __future__ import annotations

from collections import deque

import pandas as pd
import redis

from trading_agent.data.frames import frame_from_candles, index_ms
from trading_agent.data.store import CandleStore
from trading_agent.domain import Candle, CandleClosed, SeriesKey

__all__ = ["CandleCache", "RedisCandleCache"]

_DAY_MS = 86_400_000


def _encode(candle: Candle) -> str:
    return ",".join(repr(v) for v in (candle.ts, candle.open, candle.high, candle.low, candle.close, candle.volume))


def _decode(raw: bytes | str) -> Candle:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ts, *values = text.split(",")
    return Candle(int(ts), *map(float, values))


class RedisCandleCache:
    """L2: recent candles per series in Redis sorted sets under ``prefix``."""

    def __init__(self, client: redis.Redis, prefix: str, *, days: int = 7) -> None:
        self._client = client
        self._prefix = prefix
        self._keep_ms = days * _DAY_MS

    def _key(self, series: SeriesKey) -> str:
        return f"{self._prefix}candles:{series}"

    def put(self, series: SeriesKey, candles: list[Candle]) -> None:
        """Store candles (replacing any with the same open time) and trim to the retention window."""
        if not candles:
            return
        key = self._key(series)
        newest = max(c.ts for c in candles)
        pipe = self._client.pipeline(transaction=True)
        for candle in candles:
            pipe.zremrangebyscore(key, candle.ts, candle.ts)
        pipe.zadd(key, {_encode(c): c.ts for c in candles})
        pipe.zremrangebyscore(key, "-inf", f"({newest - self._keep_ms}")
        pipe.execute()

    def recent(self, series: SeriesKey, n: int) -> list[Candle]:
        """Up to the last ``n`` candles, oldest first."""
        raw_members: list[bytes] = self._client.zrange(self._key(series), -n, -1)  # type: ignore[assignment]
        return [_decode(raw) for raw in raw_members]


class CandleCache:
    """Read-through cache of the most recent candles of each series."""

    def __init__(self, store: CandleStore, *, l1_size: int = 1000, l2: RedisCandleCache | None = None) -> None:
        if l1_size < 1:
            raise ValueError(f"l1_size must be at least 1, got {l1_size}")
        self._store = store
        self._l1_size = l1_size
        self._l2 = l2
        self._l1: dict[SeriesKey, deque[Candle]] = {}
        self._complete: set[SeriesKey] = set()  # series whose whole stored history fits in L1
        self._frames: dict[tuple[SeriesKey, int], pd.DataFrame] = {}
        self.hits = {"l1": 0, "l2": 0, "store": 0}

    def recent(self, series: SeriesKey, n: int) -> pd.DataFrame:
        """The last ``n`` (at most ``l1_size``) candles of ``series`` as a candle frame."""
        n = min(n, self._l1_size)
        cached = self._frames.get((series, n))
        if cached is not None:
            self.hits["l1"] += 1
            return cached
        window = self._l1.get(series)
        if window is None or (len(window) < n and series not in self._complete):
            window = self._load(series, n)
        else:
            self.hits["l1"] += 1
        frame = frame_from_candles(list(window)[-n:])
        self._frames[(series, n)] = frame
        return frame

    @property
    def has_l2(self) -> bool:
        """Whether a Redis L2 sits behind L1."""
        return self._l2 is not None

    def cached(self, series: SeriesKey) -> int:
        """How many candles of ``series`` L1 holds now."""
        return len(self._l1.get(series, ()))

    def on_candle_closed(self, event: CandleClosed) -> None:
        """Write the closed candle through L1 and L2 and invalidate frames derived from its series."""
        window = self._l1.setdefault(event.series, deque(maxlen=self._l1_size))
        if window and window[-1].ts == event.candle.ts:
            window.pop()
        if not window or window[-1].ts < event.candle.ts:
            window.append(event.candle)
        if self._l2 is not None:
            self._l2.put(event.series, [event.candle])
        for key in [k for k in self._frames if k[0] == event.series]:
            del self._frames[key]

    def _load(self, series: SeriesKey, n: int) -> deque[Candle]:
        """Fill L1 from L2 when it holds at least ``n`` candles, else from the store (and refresh L2)."""
        candles = self._l2.recent(series, self._l1_size) if self._l2 is not None else []
        if len(candles) >= n:
            self.hits["l2"] += 1
        else:
            candles = self._from_store(series)
            self.hits["store"] += 1
            if len(candles) < self._l1_size:
                self._complete.add(series)
            if self._l2 is not None:
                self._l2.put(series, candles)
        window = deque(candles, maxlen=self._l1_size)
        self._l1[series] = window
        return window

    def _from_store(self, series: SeriesKey) -> list[Candle]:
        frame = self._store.load_candles(series)
        tail = frame.iloc[-self._l1_size :]
        ts = index_ms(tail)
        rows = tail.to_numpy(dtype="float64")
        return [Candle(int(t), *map(float, row)) for t, row in zip(ts, rows, strict=True)]
