"""The market-feed interface: a stream of "candle closed" events, live or replayed.

The agent consumes any ``MarketFeed`` the same way; only the implementation differs between the
live Delta WebSocket feed and the replay of stored candles.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from trading_agent.domain import CandleClosed

__all__ = ["MarketFeed"]


class MarketFeed(ABC):
    """A source of ``CandleClosed`` events in time order for each series.

    ``events()`` is an async generator: iterate it to receive candles as they close; break out of
    the loop (or call ``aclose()`` on it) to stop the feed and release its connection.
    ``fetch_errors`` counts what went wrong fetching data so far (failed connections, messages
    that could not be read); a replay has none.
    """

    fetch_errors: int = 0

    @abstractmethod
    def events(self) -> AsyncIterator[CandleClosed]:
        """Yield each closed candle once, oldest first."""
