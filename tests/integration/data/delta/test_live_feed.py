"""The live WebSocket feed against the fake server: closed candles, heartbeats, reconnects, backfill."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import aclosing

import pandas as pd
import pytest
from structlog.testing import capture_logs

from tests.testkit.fake_delta import ORIGIN_MS, FakeDelta
from trading_agent.data.delta import Backoff, DeltaLiveFeed
from trading_agent.data.errors import ExchangeError, ExchangeUnavailableError
from trading_agent.data.frames import frame_from_candles
from trading_agent.domain import CandleClosed, InstrumentId, SeriesKey, Timeframe

FAST = Backoff(initial_s=0.02, factor=2, max_s=0.2)
SYMBOLS = ("BTCUSD", "ETHUSD")
MINUTE = Timeframe.M1.ms


def make_feed(fake: FakeDelta, heartbeat_timeout_s: float = 0.3) -> DeltaLiveFeed:
    return DeltaLiveFeed(
        fake.settings(), SYMBOLS, Timeframe.M1, clock=fake.now_ms, heartbeat_timeout_s=heartbeat_timeout_s, backoff=FAST
    )


async def collect(
    feed: DeltaLiveFeed, count: int, on_event: Callable[[int], Awaitable[None]] | None = None
) -> list[CandleClosed]:
    """The first ``count`` events (10 s at most); ``on_event`` sees the running count."""
    events: list[CandleClosed] = []
    async with asyncio.timeout(10), aclosing(feed.events()) as stream:
        async for event in stream:
            events.append(event)
            if on_event is not None:
                await on_event(len(events))
            if len(events) == count:
                break
    return events


def assert_exact_and_gapless(fake: FakeDelta, events: list[CandleClosed]) -> None:
    """Per symbol: consecutive candles, each once, each equal to the fake's final values."""
    for symbol in SYMBOLS:
        mine = [e for e in events if e.series.instrument.symbol == symbol]
        assert mine, symbol
        first = (mine[0].candle.ts - ORIGIN_MS) // MINUTE
        assert [e.candle for e in mine] == fake.series(symbol, Timeframe.M1)[first : first + len(mine)]
        assert all(e.ts_event == e.candle.ts + MINUTE for e in mine)
        assert all(e.series == SeriesKey(InstrumentId("delta_india", symbol), Timeframe.M1) for e in mine)


@pytest.mark.parametrize("ws_format", ["compact", "legacy"])
async def test_closed_candles_are_emitted_once_with_final_values(ws_format: str) -> None:
    async with FakeDelta(ws_format=ws_format) as fake:
        await fake.advance()  # the feed joins in the middle of candle 9000
        feed = make_feed(fake, heartbeat_timeout_s=2.0)  # generous: a busy machine must not fake a silence
        collecting = asyncio.create_task(collect(feed, 10))
        await fake.wait_for_subscribers()
        fake.run_market(0.003)
        events = await collecting
    assert_exact_and_gapless(fake, events)
    assert {e.candle.ts for e in events[:2]} == {ORIGIN_MS + 9_000 * MINUTE}
    assert feed.reconnect_count == 0 and feed.backfilled_count == 0


async def test_heartbeats_keep_a_quiet_connection(fake: FakeDelta) -> None:
    feed = make_feed(fake, heartbeat_timeout_s=0.25)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.8), aclosing(feed.events()) as stream:
            await anext(stream)
    assert feed.reconnect_count == 0 and fake.ws_connections == 1


async def test_silence_past_the_heartbeat_timeout_reconnects_and_backfills(fake: FakeDelta) -> None:
    fake.run_market(0.003)
    feed = make_feed(fake)

    async def stall_once(count: int) -> None:
        if count == 4:
            fake.stall_connections()

    events = await collect(feed, 40, stall_once)
    assert feed.reconnect_count >= 1 and fake.ws_connections >= 2
    assert feed.backfilled_count > 0
    assert_exact_and_gapless(fake, events)


async def test_a_dropped_connection_is_backfilled_without_gaps_or_duplicates(fake: FakeDelta) -> None:
    fake.run_market(0.003)
    feed = make_feed(fake)

    async def drop_twice(count: int) -> None:
        if count in (4, 20):
            await fake.drop_connections(refuse_s=0.1)

    events = await collect(feed, 50, drop_twice)
    assert feed.reconnect_count >= 2
    assert feed.backfilled_count >= 2
    assert_exact_and_gapless(fake, events)


async def test_a_garbage_rest_answer_to_the_backfill_reconnects_and_backfills_again(fake: FakeDelta) -> None:
    fake.run_market(0.003)
    feed = make_feed(fake)

    async def drop_with_garbage(count: int) -> None:
        if count == 4:
            fake.malformed_next()
            fake.fail_next(200, {"success": True, "result": [{"time": "noon", "open": "x"}]})  # JSON, no candles
            await fake.drop_connections(refuse_s=0.05)

    with capture_logs() as logs:
        events = await collect(feed, 40, drop_with_garbage)
    assert_exact_and_gapless(fake, events)
    reasons = [log["reason"] for log in logs if log["event"] == "delta_feed_reconnecting"]
    assert sum(reason.startswith("backfill of") for reason in reasons) == 2, reasons
    assert feed.backfilled_count > 0


class RecordingHistory:
    """A CandleHistory serving the fake's closed candles and recording each request."""

    def __init__(self, fake: FakeDelta) -> None:
        self.fake = fake
        self.calls: list[tuple[str, int, int]] = []

    async def fetch_candles(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> pd.DataFrame:
        self.calls.append((symbol, start_ms, end_ms))
        now = self.fake.now_ms()
        series = self.fake.series(symbol, timeframe)
        return frame_from_candles([c for c in series if start_ms <= c.ts < end_ms and c.close_time(timeframe) <= now])


async def test_a_late_first_update_after_reconnect_fetches_the_gap(fake: FakeDelta) -> None:
    # The feed's clock stands still, so the reconnect backfill finds nothing closed: the first
    # update after the reconnect must fetch the gap before its own candle.
    history = RecordingHistory(fake)
    feed = DeltaLiveFeed(fake.settings(), SYMBOLS, Timeframe.M1, history=history, clock=lambda: ORIGIN_MS, backoff=FAST)
    fake.run_market(0.003)

    async def drop_once(count: int) -> None:
        if count == 4:
            await fake.drop_connections(refuse_s=0.1)

    events = await collect(feed, 30, drop_once)
    assert history.calls and all(end > start for _, start, end in history.calls)
    assert feed.backfilled_count > 0
    assert_exact_and_gapless(fake, events)
    assert {e.ts_init for e in events} == {ORIGIN_MS}  # the injected clock stamps the events


@pytest.mark.parametrize("ws_format", ["compact", "legacy"])
async def test_garbage_and_past_candles_are_logged_and_skipped(ws_format: str) -> None:
    async with FakeDelta(ws_format=ws_format) as fake:
        fake.run_market(0.003)
        feed = make_feed(fake, heartbeat_timeout_s=2.0)

        async def garble(count: int) -> None:
            if count in (6, 16):
                fake.garbage_next("not_json", "not_object", "bad_price", "past_candle")

        with capture_logs() as logs:
            events = await collect(feed, 30, garble)
    assert_exact_and_gapless(fake, events)  # each good candle once, none lost, none from the garbage
    assert feed.reconnect_count == 0  # garbage is no reason to reconnect
    reasons = [log.get("reason") for log in logs if log["event"] == "delta_feed_bad_message"]
    assert reasons.count("not JSON") >= 2 and reasons.count("not a JSON object") >= 2
    bad = [log for log in logs if log["event"] == "delta_feed_bad_candle"]
    assert len(bad) >= 2 and all("'close'" in log["error"] or "'c'" in log["error"] for log in bad)
    past = [log for log in logs if log["event"] == "delta_feed_past_candle"]
    assert len(past) >= 2 and all(log["ts"] < log["last_emitted"] for log in past)
    assert all(log["log_level"] == "warning" for log in [*bad, *past])


async def test_resume_after_backfills_every_candle_after_the_consumers_last(fake: FakeDelta) -> None:
    btc_last, eth_last = ORIGIN_MS + 6_500 * MINUTE, ORIGIN_MS + 8_995 * MINUTE  # BTC: 2,499 to fetch, > 1 page
    feed = DeltaLiveFeed(
        fake.settings(),
        SYMBOLS,
        Timeframe.M1,
        clock=fake.now_ms,
        heartbeat_timeout_s=2.0,
        backoff=FAST,
        resume_after={"BTCUSD": btc_last, "ETHUSD": eth_last},
    )

    async def start_market(count: int) -> None:
        if count == 1:
            fake.run_market(0.003)

    events = await collect(feed, 2_499 + 4 + 20, start_market)
    assert_exact_and_gapless(fake, events)
    firsts = {symbol: next(e for e in events if e.series.instrument.symbol == symbol) for symbol in SYMBOLS}
    assert firsts["BTCUSD"].candle.ts == btc_last + MINUTE and firsts["ETHUSD"].candle.ts == eth_last + MINUTE
    assert feed.backfilled_count >= 2_499 + 4 and feed.reconnect_count == 0


async def test_resume_after_a_symbol_the_feed_does_not_trade_is_refused(fake: FakeDelta) -> None:
    with pytest.raises(ValueError, match="resume_after names 'SOLUSD'"):
        DeltaLiveFeed(fake.settings(), SYMBOLS, Timeframe.M1, resume_after={"SOLUSD": ORIGIN_MS})


async def test_a_refused_subscription_ends_the_feed(fake: FakeDelta) -> None:
    feed = DeltaLiveFeed(fake.settings(), ["DOGEUSD"], Timeframe.M1, backoff=FAST)
    with pytest.raises(ExchangeError, match="refused the subscription to candlestick_1m: invalid symbols: DOGEUSD"):
        await collect(feed, 1)
    assert feed.reconnect_count == 0


async def test_no_server_gives_up_after_max_failures() -> None:
    async with FakeDelta() as gone:
        settings = gone.settings()
    feed = DeltaLiveFeed(settings, ["BTCUSD"], Timeframe.M1, backoff=FAST, max_failures=3)
    with pytest.raises(ExchangeUnavailableError, match=r"127\.0\.0\.1.*refused\); gave up after 3 failures in a row"):
        await collect(feed, 1)
    assert feed.reconnect_count == 3
