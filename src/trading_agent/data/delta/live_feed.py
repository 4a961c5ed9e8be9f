"""The live market feed: Delta's public WebSocket candles, with REST backfill after every reconnect.

Hand-written on ``websockets`` (ccxt 4.5.90 has no Delta WebSocket). One connection subscribes
``candlestick_<res>`` for every symbol after ``enable_heartbeat``. The heartbeat watchdog reconnects
when nothing (data or heartbeat) arrives for ``heartbeat_timeout_s`` (Delta: heartbeats every ~30 s,
reconnect after 35 s). Failed connections are retried with bounded exponential backoff.

After a reconnect the feed subscribes first, then fetches over REST every candle closed since the
last one it emitted, so nothing is lost in between; ``CandleAssembler`` makes sure no candle is
emitted twice or out of order. ``resume_after`` does the same on the first connection after a
restart: per symbol, the open time of the last candle the consumer already has (an agent's
``resume_ts``), and every closed candle after it is backfilled first. ``events()`` yields only
``CandleClosed``; backfills are logged and counted in ``backfilled_count`` (and reconnects in
``reconnect_count``).

A REST answer the backfill cannot use (not JSON, not candles) counts as a failed connection:
the feed reconnects and backfills again. Bad WebSocket input is logged and skipped, never fatal:
a frame that is not JSON or not a JSON object (``delta_feed_bad_message``), a candle update with
a missing or impossible field (``delta_feed_bad_candle``) and an update of a candle older than
the last one emitted or the one in progress (``delta_feed_past_candle``; common right after a
backfill, when the socket still sends the last updates of a candle REST already gave).

The clock (``clock``, epoch ms) decides which backfilled candles are closed and stamps ``ts_init``:
inject one in tests. The wall clock must be NTP-synced in production.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import pandas as pd
import structlog
import websockets
from websockets.asyncio.client import ClientConnection, connect

from trading_agent.config import DeltaSettings
from trading_agent.data.delta.assembler import CandleAssembler
from trading_agent.data.delta.errors import unavailable_error
from trading_agent.data.delta.products import VENUE
from trading_agent.data.delta.rest import DeltaRestClient
from trading_agent.data.delta.ws_messages import (
    ENABLE_HEARTBEAT,
    candle_channel,
    parse_candle_update,
    subscribe_message,
)
from trading_agent.data.errors import DataError, ExchangeError, ExchangeUnavailableError, RateLimitedError
from trading_agent.data.feeds.base import MarketFeed
from trading_agent.data.frames import candles_from_frame
from trading_agent.domain import Candle, CandleClosed, InstrumentId, SeriesKey, Timeframe

__all__ = ["Backoff", "CandleHistory", "DeltaLiveFeed"]

_log = structlog.get_logger(__name__)

# Messages websockets buffers before it stops reading the socket. A full buffer also stalls the
# closing handshake (close() then waits out its timeout), so leave room for a backfill's worth.
_MAX_QUEUED_MESSAGES = 1024


class CandleHistory(Protocol):
    """Where the feed fetches missed candles: ``DeltaRestClient`` or a test double."""

    async def fetch_candles(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Candles with open times in ``[start_ms, end_ms)``."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt ``n`` (0-based): ``initial_s * factor**n``, at most ``max_s``."""

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.factor < 1 or self.max_s < self.initial_s:
            raise ValueError(f"backoff needs 0 <= initial_s <= max_s and factor >= 1, got {self}")

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt``."""
        return min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))


class _HeartbeatLostError(Exception):
    """Nothing arrived within the heartbeat timeout."""


class _BackfillFailedError(Exception):
    """The REST backfill got an answer it could not use (not JSON, not candles)."""


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


# Failures after which the feed reconnects; anything else (a refused subscription, a bad symbol) ends it.
_TRANSIENT = (
    OSError,
    TimeoutError,
    websockets.WebSocketException,
    _HeartbeatLostError,
    _BackfillFailedError,
    ExchangeUnavailableError,
    RateLimitedError,
)


class DeltaLiveFeed(MarketFeed):
    """Closed candles of ``symbols`` at ``timeframe`` from Delta's public WebSocket.

    Symbols are tradable products (``BTCUSD``): ``MARK:`` series have no ``InstrumentId``.
    ``reconnect_count`` counts reconnect attempts, ``backfilled_count`` candles emitted from REST.
    Iterate ``events()`` once at a time; iterating again resumes after the last emitted candle.
    ``history`` defaults to a ``DeltaRestClient`` on the same settings, opened while ``events()`` runs.
    ``max_failures`` failures in a row (connections that delivered no usable message) raise
    ``ExchangeUnavailableError``; None retries forever. ``resume_after`` (symbol -> open time of
    the last candle the consumer has) makes the first connection backfill every closed candle after
    it; a symbol not in ``symbols`` raises ``ValueError``.
    """

    def __init__(
        self,
        settings: DeltaSettings,
        symbols: Sequence[str],
        timeframe: Timeframe,
        *,
        history: CandleHistory | None = None,
        clock: Callable[[], int] = _wall_clock_ms,
        heartbeat_timeout_s: float = 35.0,
        backoff: Backoff | None = None,
        max_failures: int | None = None,
        resume_after: Mapping[str, int] | None = None,
    ) -> None:
        if not symbols:
            raise ValueError("DeltaLiveFeed needs at least one symbol")
        if heartbeat_timeout_s <= 0:
            raise ValueError(f"heartbeat_timeout_s must be positive, got {heartbeat_timeout_s}")
        self._settings = settings
        self._symbols = tuple(dict.fromkeys(symbols))
        self._channel = candle_channel(timeframe)
        self._series = {symbol: SeriesKey(InstrumentId(VENUE, symbol), timeframe) for symbol in self._symbols}
        self._history = history
        self._clock = clock
        self._heartbeat_timeout_s = heartbeat_timeout_s
        self._backoff = backoff or Backoff()
        self._max_failures = max_failures
        self._assembler = CandleAssembler(timeframe)
        for symbol, ts in (resume_after or {}).items():
            if symbol not in self._series:
                raise ValueError(f"resume_after names {symbol!r}, which is not one of the feed's symbols")
            self._assembler.start_after(symbol, ts)
        self._ws_host = urlsplit(settings.resolved_ws_url).netloc or settings.resolved_ws_url
        self._failures = 0
        self.reconnect_count = 0
        self.backfilled_count = 0

    async def events(self) -> AsyncIterator[CandleClosed]:
        """Yield each closed candle once, in order per symbol, across reconnects."""
        async with AsyncExitStack() as stack:
            history = self._history
            if history is None:
                history = await stack.enter_async_context(DeltaRestClient(self._settings))
            while True:
                try:
                    async with aclosing(self._connection(history)) as stream:
                        async for event in stream:
                            yield event
                except _TRANSIENT as exc:
                    await self._after_failure(exc)

    async def _after_failure(self, exc: BaseException) -> None:
        self._failures += 1
        self.reconnect_count += 1
        self.fetch_errors += 1
        if isinstance(exc, ExchangeError | _BackfillFailedError):
            reason = str(exc)
        else:
            reason = str(unavailable_error(self._ws_host, exc, self._settings.timeout_s))
        if self._max_failures is not None and self._failures >= self._max_failures:
            raise ExchangeUnavailableError(f"{reason}; gave up after {self._failures} failures in a row") from exc
        delay_s = self._backoff.delay_s(self._failures - 1)
        _log.warning("delta_feed_reconnecting", reason=reason, delay_s=delay_s, failures=self._failures)
        await asyncio.sleep(delay_s)

    async def _connection(self, history: CandleHistory) -> AsyncGenerator[CandleClosed, None]:
        async with connect(
            self._settings.resolved_ws_url,
            open_timeout=self._settings.timeout_s,
            close_timeout=min(self._settings.timeout_s, 2.0),
            ping_interval=None,
            proxy=None,
            max_queue=_MAX_QUEUED_MESSAGES,
        ) as ws:
            await ws.send(ENABLE_HEARTBEAT)
            await ws.send(subscribe_message(self._channel, self._symbols))
            self._assembler.forget_current()
            for symbol in self._symbols:
                start_ms = self._assembler.next_open(symbol)
                if start_ms is not None:
                    for event in await self._backfill(history, symbol, start_ms, self._clock()):
                        yield event
            while True:
                message = await self._receive(ws)
                events = await self._handle(history, message)
                self._failures = 0
                for event in events:
                    yield event

    async def _receive(self, ws: ClientConnection) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self._heartbeat_timeout_s):
                text = await ws.recv()
        except TimeoutError:
            raise _HeartbeatLostError(f"no message or heartbeat for {self._heartbeat_timeout_s:g} s") from None
        try:
            message = json.loads(text)
        except ValueError:
            _log.warning("delta_feed_bad_message", text=str(text)[:200], reason="not JSON")
            self.fetch_errors += 1
            return {}
        if not isinstance(message, dict):
            _log.warning("delta_feed_bad_message", text=str(text)[:200], reason="not a JSON object")
            self.fetch_errors += 1
            return {}
        return message

    async def _handle(self, history: CandleHistory, message: dict[str, Any]) -> list[CandleClosed]:
        kind = message.get("type")
        if kind == "subscriptions":
            self._check_subscriptions(message)
        if kind != self._channel:
            return []
        try:
            update = parse_candle_update(message, self._assembler.timeframe)
        except DataError as exc:
            _log.warning("delta_feed_bad_candle", error=str(exc))
            self.fetch_errors += 1
            return []
        if update is None or update.symbol not in self._series:
            return []
        if self._assembler.is_past(update.symbol, update.candle.ts):
            last = self._assembler.next_open(update.symbol)
            _log.warning(
                "delta_feed_past_candle",
                symbol=update.symbol,
                ts=update.candle.ts,
                last_emitted=None if last is None else last - self._assembler.timeframe.ms,
            )
            return []
        events = []
        gap = self._assembler.gap_before(update.symbol, update.candle.ts)
        if gap is not None:
            events = await self._backfill(history, update.symbol, *gap)
        closed = self._assembler.on_update(update.symbol, update.candle)
        if closed is not None:
            events.append(self._event(update.symbol, closed))
        return events

    def _check_subscriptions(self, message: dict[str, Any]) -> None:
        channels = message.get("channels") or []
        if not isinstance(channels, list):
            _log.warning("delta_feed_bad_message", text=str(message)[:200], reason="channels is not a list")
            return
        for channel in channels:
            if isinstance(channel, dict) and channel.get("error"):
                raise ExchangeError(f"Delta refused the subscription to {channel.get('name')}: {channel['error']}")

    async def _backfill(self, history: CandleHistory, symbol: str, start_ms: int, end_ms: int) -> list[CandleClosed]:
        if end_ms <= start_ms:
            return []
        try:
            frame = await history.fetch_candles(symbol, self._assembler.timeframe, start_ms, end_ms)
            fetched = candles_from_frame(frame)
        except (ExchangeUnavailableError, RateLimitedError):
            raise
        except DataError as exc:
            raise _BackfillFailedError(f"backfill of {symbol} candles failed: {exc}") from exc
        candles = self._assembler.accept_closed(symbol, fetched, end_ms)
        if candles:
            self.backfilled_count += len(candles)
            _log.info("delta_feed_backfilled", symbol=symbol, candles=len(candles), start_ms=start_ms, end_ms=end_ms)
        return [self._event(symbol, candle) for candle in candles]

    def _event(self, symbol: str, candle: Candle) -> CandleClosed:
        series = self._series[symbol]
        return CandleClosed(
            ts_event=candle.close_time(series.timeframe), series=series, candle=candle, ts_init=self._clock()
        )
