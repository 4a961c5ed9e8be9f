"""Turning repeated "current candle" updates into closed candles: pure state, no I/O.

Delta re-sends the whole current candle on every update and never says "closed". A candle is
closed when an update for a LATER candle of the same symbol arrives; its last update is its final
value. Per symbol the assembler keeps the open time of the last candle handed out, so a candle is
handed out once and in order, whether it came from the WebSocket or from a REST backfill.

After a reconnect the in-progress candle may have missed updates, so ``forget_current`` drops it;
if the next update then starts later than one bar after the last closed candle, ``gap_before``
names the range the feed must fetch over REST first. ``start_after`` makes a new assembler resume
after a candle the consumer already has (a restart), and ``is_past`` names the updates it ignores.
"""

from __future__ import annotations

from collections.abc import Iterable

from trading_agent.domain import Candle, Timeframe

__all__ = ["CandleAssembler"]


class CandleAssembler:
    """Closed candles out of per-symbol current-candle updates, each once and in open-time order."""

    def __init__(self, timeframe: Timeframe) -> None:
        self.timeframe = timeframe
        self._current: dict[str, Candle] = {}
        self._last_closed: dict[str, int] = {}

    def next_open(self, symbol: str) -> int | None:
        """Open time of the candle after the last one handed out (None before the first)."""
        last = self._last_closed.get(symbol)
        return None if last is None else last + self.timeframe.ms

    def start_after(self, symbol: str, ts: int) -> None:
        """Hand out only candles of ``symbol`` opening after ``ts`` (the consumer has the one at ``ts``).

        ``next_open`` then names the first candle to backfill. Never moves backwards.
        """
        last = self._last_closed.get(symbol)
        if last is None or ts > last:
            self._last_closed[symbol] = ts
            current = self._current.get(symbol)
            if current is not None and current.ts <= ts:
                del self._current[symbol]

    def is_past(self, symbol: str, ts: int) -> bool:
        """Whether an update of the candle opening at ``ts`` is too old for ``on_update`` (which ignores it).

        True when that candle was handed out already, or is older than the one in progress.
        """
        last = self._last_closed.get(symbol)
        current = self._current.get(symbol)
        return (last is not None and ts <= last) or (current is not None and ts < current.ts)

    def forget_current(self) -> None:
        """Drop every in-progress candle (call on reconnect: updates may have been missed)."""
        self._current.clear()

    def gap_before(self, symbol: str, start_ms: int) -> tuple[int, int] | None:
        """``(from_ms, to_ms)`` of closed candles to fetch before an update starting at ``start_ms``.

        Non-None only when no candle is in progress (start, or after a reconnect) and the update
        starts later than the candle right after the last one handed out.
        """
        expected = self.next_open(symbol)
        if symbol in self._current or expected is None or start_ms <= expected:
            return None
        return expected, start_ms

    def on_update(self, symbol: str, candle: Candle) -> Candle | None:
        """Record an update; return the candle it closes, if any. Past updates (``is_past``) are ignored."""
        if self.is_past(symbol, candle.ts):
            return None
        current = self._current.get(symbol)
        self._current[symbol] = candle
        if current is None or candle.ts == current.ts:
            return None
        self._last_closed[symbol] = current.ts
        return current

    def accept_closed(self, symbol: str, candles: Iterable[Candle], until_ms: int) -> list[Candle]:
        """The backfilled ``candles`` to hand out: newer than the last one, closed by ``until_ms``, in order."""
        last = self._last_closed.get(symbol)
        fresh = sorted(
            (c for c in candles if (last is None or c.ts > last) and c.close_time(self.timeframe) <= until_ms),
            key=lambda c: c.ts,
        )
        unique = [c for i, c in enumerate(fresh) if i == 0 or c.ts != fresh[i - 1].ts]
        if unique:
            self._last_closed[symbol] = unique[-1].ts
            current = self._current.get(symbol)
            if current is not None and current.ts <= unique[-1].ts:
                del self._current[symbol]
        return unique
