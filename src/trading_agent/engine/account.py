"""The account's books beside the positions: peak and day-start equity, entries, losing streak, trades.

Money lives in the positions' lifetime totals (realised PnL, fees, funding, per instrument); this
module adds what the risk manager judges against. Two kinds of state, kept apart:

- changed by events (replayed from the journal): entry times, the losing streak, closed trades;
- changed by prices (the peak and the day-start equity): written into every checkpoint
  (``EquitySnapshotTaken``) and restored from the last one.

A loss, for the streak, is a trade with ``pnl < 0`` (break-even resets it). The UTC day rolls at
the first candle close of a new day: the day-start equity is the equity at that close.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from decimal import Decimal

from trading_agent.domain import PortfolioState, Position, Trade

__all__ = ["Account", "Totals"]

_MS_PER_DAY = 86_400_000
_ZERO = Decimal(0)


class Totals:
    """Sums over instruments: realised PnL (before costs), fees and funding paid, margin in use."""

    __slots__ = ("fees", "funding", "margin", "realized_pnl", "unrealized_pnl")

    def __init__(self) -> None:
        self.realized_pnl = _ZERO
        self.fees = _ZERO
        self.funding = _ZERO
        self.margin = _ZERO
        self.unrealized_pnl = _ZERO


class Account:
    """Deposit, peak and day-start equity, recent entry times, the losing streak and closed trades."""

    def __init__(self, deposit: Decimal, *, entry_memory_ms: int = 2 * _MS_PER_DAY) -> None:
        self.deposit = deposit
        self._entry_memory_ms = entry_memory_ms
        self.peak_equity = deposit
        self.day_start_equity = deposit
        self.day: int | None = None
        self.consecutive_losses = 0
        self.entry_times: list[int] = []
        self.trades: list[Trade] = []

    def balance(self, totals: Totals) -> Decimal:
        """Wallet balance: deposit + realised PnL - fees - funding."""
        return self.deposit + totals.realized_pnl - totals.fees - totals.funding

    def equity(self, totals: Totals) -> Decimal:
        """Balance plus unrealised PnL at the marks."""
        return self.balance(totals) + totals.unrealized_pnl

    def available(self, totals: Totals) -> Decimal:
        """What new margin may draw on: the balance less the margin of open positions."""
        return self.balance(totals) - totals.margin

    def record_entry(self, ts: int) -> None:
        """A fill that added exposure (an entry, for the trades-per-day and rapid-fire rules)."""
        insort(self.entry_times, ts)  # in time order even when instruments' candles interleave
        forgotten = bisect_left(self.entry_times, ts - self._entry_memory_ms)
        if forgotten > len(self.entry_times) // 2:  # drop old entries in bulk: amortised O(1)
            del self.entry_times[:forgotten]

    def entries_since(self, since_ms: int) -> list[int]:
        """Entry times after ``since_ms`` (exclusive), oldest first."""
        return self.entry_times[bisect_right(self.entry_times, since_ms) :]

    def record_trade(self, trade: Trade) -> None:
        """A closed round trip: it extends or resets the losing streak."""
        self.trades.append(trade)
        self.consecutive_losses = self.consecutive_losses + 1 if trade.pnl < 0 else 0

    def mark(self, equity: Decimal, close_ms: int) -> None:
        """Value the account at a candle close: roll the UTC day, raise the peak."""
        day = close_ms // _MS_PER_DAY
        if self.day is None or day > self.day:
            self.day = day
            self.day_start_equity = equity
        self.peak_equity = max(self.peak_equity, equity)

    def restore(self, state: PortfolioState) -> None:
        """Take the price-dependent values from a checkpoint."""
        self.peak_equity = state.peak_equity
        self.day_start_equity = state.day_start_equity
        self.day = state.ts // _MS_PER_DAY

    def trades_today(self, now_ms: int) -> int:
        """Entries since the start of ``now_ms``'s UTC day."""
        start = now_ms - now_ms % _MS_PER_DAY
        return len(self.entry_times) - bisect_left(self.entry_times, start)

    def state(self, now_ms: int, totals: Totals, positions: Iterable[Position]) -> PortfolioState:
        """The snapshot the risk manager judges against."""
        equity = self.equity(totals)
        return PortfolioState(
            ts=now_ms,
            cash=self.deposit + totals.realized_pnl,
            equity=equity,
            unrealized_pnl=totals.unrealized_pnl,
            realized_pnl=totals.realized_pnl,
            peak_equity=max(self.peak_equity, equity),
            day_start_equity=self.day_start_equity,
            positions=tuple(positions),
            consecutive_losses=self.consecutive_losses,
            trades_today=self.trades_today(now_ms),
            last_trade_ts=self.entry_times[-1] if self.entry_times else None,
            fees=totals.fees,
            funding=totals.funding,
        )
