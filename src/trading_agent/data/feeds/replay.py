"""Replay of stored candles as a market feed, at N x real time or as fast as possible.

Several series are merged by close time, so a replay of 1m and 1h candles delivers them in the
order a live feed would. The pacing clock is injectable so tests run instantly.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from trading_agent.data.feeds.base import MarketFeed
from trading_agent.data.frames import OHLCV_COLUMNS, index_ms
from trading_agent.domain import Candle, CandleClosed, SeriesKey

__all__ = ["ReplayFeed"]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


def _closed_events(series: SeriesKey, frame: pd.DataFrame) -> Iterator[tuple[int, str, CandleClosed]]:
    ts = index_ms(frame)
    columns = [frame[name].to_numpy(dtype="float64") for name in OHLCV_COLUMNS]
    close_times = ts + series.timeframe.ms
    key = str(series)
    for i in range(len(ts)):
        candle = Candle(int(ts[i]), *(float(col[i]) for col in columns))
        yield int(close_times[i]), key, CandleClosed(ts_event=int(close_times[i]), series=series, candle=candle)


class ReplayFeed(MarketFeed):
    """Emit the candles of ``frames`` as ``CandleClosed`` events, in close-time order.

    ``speed`` is the replay rate: ``60`` plays one minute of market time per second; ``None``
    replays as fast as possible (yielding to the event loop between candles).
    """

    def __init__(
        self,
        frames: Mapping[SeriesKey, pd.DataFrame],
        *,
        speed: float | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        if speed is not None and not (np.isfinite(speed) and speed > 0):
            raise ValueError(f"replay speed must be positive, got {speed}")
        self._frames = dict(frames)
        self._speed = speed
        self._sleep = sleep
        self._clock = clock

    @property
    def total(self) -> int:
        """Number of candles the replay will emit."""
        return sum(len(frame) for frame in self._frames.values())

    async def events(self) -> AsyncIterator[CandleClosed]:
        """Yield every candle once, ordered by close time (ties by series name)."""
        merged = heapq.merge(*(_closed_events(s, f) for s, f in self._frames.items()), key=lambda item: item[:2])
        started_wall: float | None = None
        first_market_ms = 0
        for close_ms, _, event in merged:
            if self._speed is None:
                await self._sleep(0)
            else:
                if started_wall is None:
                    started_wall, first_market_ms = self._clock(), close_ms
                due = started_wall + (close_ms - first_market_ms) / 1000.0 / self._speed
                await self._sleep(max(0.0, due - self._clock()))
            yield event
