"""Market-microstructure features from top-of-book snapshots and trades.

The project stores candles only, so these are not part of any feature set yet: a candle cannot
tell a spread or an order-book imbalance, and an absent input makes the feature absent, not zero.
They are wired in (one value per candle, the latest at the candle's close) once book snapshots and
trades are stored. Each calculator takes one event at a time and is O(1) per event (amortised for
the time window), with the same ``FeatureSpec`` description as a candle feature; ``warmup`` counts
events.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass

from trading_agent.features.rolling import NAN
from trading_agent.features.spec import FeatureGroup, FeatureSpec

__all__ = [
    "BookFeature",
    "BookImbalance",
    "BookSnapshot",
    "InterTradeTime",
    "RelativeSpread",
    "Trade",
    "TradeFeature",
    "TradeRate",
]


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """The best bid and ask (price and size) at ``ts`` (epoch ms UTC)."""

    ts: int
    best_bid: float
    best_ask: float
    bid_size: float
    ask_size: float

    def __post_init__(self) -> None:
        values = (self.best_bid, self.best_ask, self.bid_size, self.ask_size)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"book snapshot at {self.ts} has a non-finite value")
        if not 0 < self.best_bid <= self.best_ask:
            raise ValueError(
                f"book snapshot at {self.ts} is crossed or empty: bid {self.best_bid}, ask {self.best_ask}"
            )
        if self.bid_size < 0 or self.ask_size < 0:
            raise ValueError(f"book snapshot at {self.ts} has a negative size")


@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade at ``ts`` (epoch ms UTC)."""

    ts: int
    price: float
    size: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.price) and self.price > 0 and math.isfinite(self.size) and self.size > 0):
            raise ValueError(f"trade at {self.ts} needs a positive price and size")


class BookFeature(ABC):
    """A feature of the top of the book, one value per snapshot."""

    spec: FeatureSpec

    @abstractmethod
    def update(self, snapshot: BookSnapshot) -> float:
        """Consume the next snapshot; the feature's value at it."""


class TradeFeature(ABC):
    """A feature of the trade stream, one value per trade; trades must come in time order."""

    spec: FeatureSpec

    @abstractmethod
    def update(self, trade: Trade) -> float:
        """Consume the next trade; the feature's value at it."""


class RelativeSpread(BookFeature):
    """``spread_bps``: (ask - bid) / mid in basis points (0 for a locked book)."""

    def __init__(self) -> None:
        self.spec = FeatureSpec("spread_bps", FeatureGroup.MICROSTRUCTURE, 0, "bid-ask spread over the mid, in bps")

    def update(self, snapshot: BookSnapshot) -> float:
        mid = (snapshot.best_bid + snapshot.best_ask) / 2
        return (snapshot.best_ask - snapshot.best_bid) / mid * 1e4


class BookImbalance(BookFeature):
    """``book_imbalance``: (bid size - ask size) / (bid size + ask size) in [-1, 1]; 0 when both are 0."""

    def __init__(self) -> None:
        self.spec = FeatureSpec(
            "book_imbalance", FeatureGroup.MICROSTRUCTURE, 0, "top-of-book size imbalance, +1 all bids, -1 all asks"
        )

    def update(self, snapshot: BookSnapshot) -> float:
        total = snapshot.bid_size + snapshot.ask_size
        return (snapshot.bid_size - snapshot.ask_size) / total if total > 0 else 0.0


class TradeRate(TradeFeature):
    """``trade_rate_<s>s``: trades per second in the ``seconds`` up to and including this trade.

    NaN until the stream covers a whole window (the first trade is at least ``seconds`` old).
    """

    def __init__(self, seconds: int = 60) -> None:
        if seconds < 1:
            raise ValueError(f"the window must be >= 1 s, got {seconds}")
        self._window_ms = seconds * 1000
        self._times: deque[int] = deque()
        self._first: int | None = None
        self.spec = FeatureSpec(
            f"trade_rate_{seconds}s",
            FeatureGroup.MICROSTRUCTURE,
            0,
            f"trades per second over the last {seconds} s (NaN until {seconds} s of trades were seen)",
            {"seconds": seconds},
        )

    def update(self, trade: Trade) -> float:
        times = self._times
        if times and trade.ts < times[-1]:
            raise ValueError(f"trade at {trade.ts} is older than the previous one at {times[-1]}")
        if self._first is None:
            self._first = trade.ts
        times.append(trade.ts)
        while times[0] <= trade.ts - self._window_ms:
            times.popleft()
        if trade.ts - self._first < self._window_ms:
            return NAN
        return len(times) * 1000 / self._window_ms


class InterTradeTime(TradeFeature):
    """``inter_trade_ms_<n>``: the mean time between the last ``n`` + 1 trades, in ms (NaN before)."""

    def __init__(self, n: int = 50) -> None:
        if n < 1:
            raise ValueError(f"need at least one gap, got {n}")
        self._times: deque[int] = deque(maxlen=n + 1)
        self._n = n
        self.spec = FeatureSpec(
            f"inter_trade_ms_{n}",
            FeatureGroup.MICROSTRUCTURE,
            n,
            f"mean time between trades over the last {n} gaps, in ms",
            {"n": n},
        )

    def update(self, trade: Trade) -> float:
        times = self._times
        if times and trade.ts < times[-1]:
            raise ValueError(f"trade at {trade.ts} is older than the previous one at {times[-1]}")
        times.append(trade.ts)
        return (times[-1] - times[0]) / self._n if len(times) > self._n else NAN
