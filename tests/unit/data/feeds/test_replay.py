import numpy as np
import pytest

from trading_agent.data.feeds.replay import ReplayFeed
from trading_agent.data.frames import frame_from_arrays
from trading_agent.domain import CandleClosed, SeriesKey

M = 60_000


def _frame(n: int, step: int, start: int = 0) -> object:
    ts = start + np.arange(n, dtype="int64") * step
    close = 100 + np.arange(n, dtype="float64")
    return frame_from_arrays(
        ts, {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.ones(n)}
    )


async def _collect(feed: ReplayFeed) -> list[CandleClosed]:
    return [event async for event in feed.events()]


async def test_replays_every_candle_once_in_close_time_order_across_series() -> None:
    minute = SeriesKey.of("x", "BTC", "1m")
    five = SeriesKey.of("x", "BTC", "5m")
    feed = ReplayFeed({minute: _frame(10, M), five: _frame(2, 5 * M)})
    events = await _collect(feed)
    assert feed.total == 12
    assert len(events) == 12
    closes = [e.ts_event for e in events]
    assert closes == sorted(closes)
    # the 5m candle closing at 5:00 comes after the 1m candle closing at 5:00 (ties by series name)
    assert [(str(e.series), e.ts_event) for e in events[4:6]] == [("x:BTC:1m", 5 * M), ("x:BTC:5m", 5 * M)]
    assert all(e.ts_event == e.candle.ts + e.series.timeframe.ms for e in events)


async def test_paces_by_speed_with_an_injected_clock() -> None:
    now = [0.0]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    feed = ReplayFeed(
        {SeriesKey.of("x", "BTC", "1m"): _frame(4, M)}, speed=60.0, sleep=fake_sleep, clock=lambda: now[0]
    )
    events = await _collect(feed)
    assert len(events) == 4
    assert sleeps == pytest.approx([0.0, 1.0, 1.0, 1.0])  # one market minute per wall second at 60x


def test_rejects_bad_speed() -> None:
    with pytest.raises(ValueError, match="speed must be positive"):
        ReplayFeed({}, speed=0)
