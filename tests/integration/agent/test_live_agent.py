"""The real agent on the real live feed against the fake Delta: bad feeds survived, stale prices refused, restarts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

import pytest

from tests.testkit.agent import CONFIG_DIR
from tests.testkit.fake_delta import FakeDelta
from tests.testkit.instruments import btcusd
from trading_agent.agent import AgentOptions, RuleSource, TradingAgent
from trading_agent.backtest.filters import EntryFilter, FilterRules
from trading_agent.backtest.strategies import make_strategy
from trading_agent.config.trading_rules import load_trading_rules
from trading_agent.data.delta import VENUE, Backoff, DeltaLiveFeed
from trading_agent.domain import (
    CandleClosed,
    EquitySnapshotTaken,
    Event,
    InstrumentId,
    OrderRole,
    OrderSubmitted,
    SeriesKey,
    SignalFiltered,
    SignalGenerated,
    Timeframe,
)
from trading_agent.engine import MemoryJournal
from trading_agent.engine.journal import Journal
from trading_agent.services.trading_setup import engine_config, sizing_rules
from trading_agent.storage import SqlJournal, create_database_engine

SYMBOL = "BTCUSD"
TIMEFRAME = Timeframe.M1
MINUTE = TIMEFRAME.ms
SERIES = SeriesKey(InstrumentId(VENUE, SYMBOL), TIMEFRAME)
STALENESS_MS = 60 * MINUTE  # market time: the fake runs a minute in ~30 ms, so this allows ~2 s of lag
FAST = Backoff(initial_s=0.02, factor=2, max_s=0.2)
UPDATE_S = 0.01  # one market update every 10 ms: a 1m candle every 30 ms


@pytest.fixture
async def fake() -> AsyncIterator[FakeDelta]:
    """A fake Delta Exchange India on 127.0.0.1, its market at candle 9,000."""
    async with FakeDelta() as server:
        yield server


def live_agent(journal: Journal, wall_clock: Callable[[], int], session: str = "live") -> TradingAgent:
    """The agent as ``open_paper_session`` builds it for a live session: fast SMAs, no signal filters."""
    rules = load_trading_rules(CONFIG_DIR)
    instrument = btcusd()
    assert instrument.id == SERIES.instrument  # the feed's series trades this instrument
    return TradingAgent.start(
        engine_config(rules, timeframe=TIMEFRAME, session=session),
        instrument,
        SERIES,
        RuleSource(make_strategy("sma-cross", {"fast": 3, "slow": 8}), instrument.id),
        journal=journal,
        sizing=sizing_rules(rules),
        filters=EntryFilter(FilterRules(), TIMEFRAME),
        options=AgentOptions(wall_clock=wall_clock, staleness_ms=STALENESS_MS),
        clock=wall_clock,
    )


def live_feed(fake: FakeDelta, resume_after: Mapping[str, int] | None = None) -> DeltaLiveFeed:
    return DeltaLiveFeed(
        fake.settings(),
        [SYMBOL],
        TIMEFRAME,
        clock=fake.now_ms,
        heartbeat_timeout_s=0.3,
        backoff=FAST,
        resume_after=resume_after,
    )


async def drop(fake: FakeDelta) -> None:
    await fake.drop_connections(refuse_s=0.05)


async def run_agent(
    agent: TradingAgent,
    feed: DeltaLiveFeed,
    candles: int,
    injections: Mapping[int, Callable[[FakeDelta], object]] | None = None,
    fake: FakeDelta | None = None,
) -> list[Event]:
    """``agent.run(feed)`` until it has traded ``candles`` more candles (8 s at most), then cancelled.

    ``injections`` maps a traded-candle count to a failure to inject into ``fake`` then (once).
    Returns the events committed meanwhile; an exception of the agent or the feed is raised.
    """
    target = agent.candles + candles
    committed: list[Event] = []
    reached = asyncio.Event()
    pending = dict(injections or {})
    tasks: set[asyncio.Task[object]] = set()

    def on_step(running: TradingAgent, _: CandleClosed, events: Sequence[Event]) -> None:
        committed.extend(events)
        inject = pending.pop(running.candles, None)
        if inject is not None and fake is not None:
            outcome = inject(fake)
            if asyncio.iscoroutine(outcome):
                tasks.add(asyncio.ensure_future(outcome))
        if running.candles >= target:
            reached.set()

    running = asyncio.create_task(agent.run(feed, on_step))
    waiting = asyncio.create_task(reached.wait())
    try:
        done, _ = await asyncio.wait({running, waiting}, timeout=8, return_when=asyncio.FIRST_COMPLETED)
        if running in done:
            running.result()  # the agent or the feed failed: raise it
            raise AssertionError("the live feed ended")
        assert waiting in done, f"only {agent.candles} candles traded in 8 s"
    finally:
        for task in (running, waiting):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*tasks)
    assert not pending, f"injections never made: {sorted(pending)}"
    return committed


def candle_times(events: list[Event]) -> list[int]:
    """Open times of the candles the engine traded, from the journal's equity snapshots."""
    return [
        mark.candle_ts
        for e in events
        if isinstance(e, EquitySnapshotTaken)
        for mark in e.marks
        if mark.instrument == SERIES.instrument
    ]


def assert_consecutive(fake: FakeDelta, times: list[int], events: list[Event]) -> None:
    """Every candle once, none missing, each traded at the fake's final close."""
    assert times == list(range(times[0], times[0] + len(times) * MINUTE, MINUTE)), times
    series = {c.ts: c for c in fake.series(SYMBOL, TIMEFRAME)}
    marks = [m for e in events if isinstance(e, EquitySnapshotTaken) for m in e.marks]
    assert all(float(m.price) == series[m.candle_ts].close for m in marks)


def entry_orders(events: list[Event]) -> list[OrderSubmitted]:
    return [e for e in events if isinstance(e, OrderSubmitted) and e.order.intent.role is OrderRole.ENTRY]


def entry_signals(events: list[Event]) -> list[int]:
    """Open times of the candles at which the rule wanted an entry."""
    return [e.signal.ts for e in events if isinstance(e, SignalGenerated) and e.signal.strength != 0]


async def test_the_agent_trades_live_candles_through_garbage_a_stall_and_a_drop(fake: FakeDelta) -> None:
    fake.run_market(UPDATE_S)
    journal = MemoryJournal()
    agent = live_agent(journal, fake.now_ms)
    feed = live_feed(fake)
    injections: dict[int, Callable[[FakeDelta], object]] = {
        10: lambda f: f.garbage_next("not_json", "not_object", "bad_price", "past_candle"),
        20: FakeDelta.stall_connections,
        35: drop,
        45: lambda f: f.garbage_next("past_candle", "not_json"),
    }
    committed = await run_agent(agent, feed, 60, injections, fake)
    assert agent.candles >= 60 and agent.skipped == 0  # the feed let nothing through twice or out of order
    assert feed.reconnect_count >= 2 and feed.backfilled_count > 0
    times = candle_times(journal.events)
    assert len(times) == agent.candles  # one equity snapshot per candle
    assert_consecutive(fake, times, journal.events)
    assert committed == journal.events
    assert entry_signals(journal.events) and entry_orders(journal.events)  # it traded


async def test_no_entry_on_a_stale_price_the_same_entries_trade_when_fresh(fake: FakeDelta) -> None:
    """Two agents on the same candles: a wall clock 10 staleness limits ahead refuses every entry."""
    fresh_journal, stale_journal = MemoryJournal(), MemoryJournal()
    fresh = live_agent(fresh_journal, fake.now_ms)
    stale = live_agent(stale_journal, lambda: fake.now_ms() + 10 * STALENESS_MS)
    fresh_feed, stale_feed = live_feed(fake), live_feed(fake)
    runs = asyncio.gather(run_agent(fresh, fresh_feed, 40), run_agent(stale, stale_feed, 40))
    await fake.wait_for_subscribers(2)
    fake.run_market(UPDATE_S)  # both feeds see the same candles from the first update
    await runs
    both = candle_times(stale_journal.events)[:40]
    assert candle_times(fresh_journal.events)[:40] == both

    wanted = entry_signals(stale_journal.events)
    assert wanted, "the rule wanted no entry: the test proves nothing"
    refused = [e for e in stale_journal.events if isinstance(e, SignalFiltered)]
    assert [e.signal.ts for e in refused] == wanted
    assert all("stale_price" in e.reasons for e in refused)
    assert not entry_orders(stale_journal.events) and stale.engine.position(stale.instrument.id) is None
    assert stale.stale() and not fresh.stale()

    assert [ts for ts in entry_signals(fresh_journal.events) if ts in both] == [ts for ts in wanted if ts in both]
    assert not any(isinstance(e, SignalFiltered) for e in fresh_journal.events)
    assert entry_orders(fresh_journal.events)  # the same entries become orders on a fresh price


async def test_a_restarted_agent_resumes_the_live_feed_where_its_journal_stopped(
    fake: FakeDelta, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    fake.run_market(UPDATE_S)
    first = live_agent(SqlJournal(create_database_engine(url), "live"), fake.now_ms)
    await run_agent(first, live_feed(fake), 25)
    stopped_at = fake.live_index
    while fake.live_index < stopped_at + 10:  # the market moves on while the agent is down
        await asyncio.sleep(UPDATE_S)

    second = live_agent(SqlJournal(create_database_engine(url), "live"), fake.now_ms)
    assert first.last_candle is not None and second.resume_ts == first.last_candle.ts
    feed = live_feed(fake, resume_after={SYMBOL: second.resume_ts})
    committed = await run_agent(second, feed, 25)
    assert feed.backfilled_count >= 9  # what closed while the agent was down came over REST
    assert candle_times(committed)[0] == second.resume_ts + MINUTE

    journal = list(SqlJournal(create_database_engine(url), "live").read())
    times = candle_times(journal)
    assert len(times) == first.candles + second.candles
    assert_consecutive(fake, times, journal)  # nothing missed, nothing twice across the restart
    assert second.skipped == 0
