"""The engine's state and the fold that changes it: ``EngineState.apply(event)``.

Every change of state is an event applied here, whether the engine just decided it or is
replaying its journal, so a rebuilt engine is the same engine. Position events (opened, changed,
closed, liquidated) are derived: ``apply`` computes them from fills and funding and returns them
(the live path records them; a replay finds them already in the journal and ignores them).
Risk decisions, signals and candles change nothing here, except that a ``MarketAnomaly`` sets its
instrument's flag and a resized approval keeps the size asked for (for idempotency). Resetting the
losing-streak or the drawdown breaker also restarts its measure (the streak, the equity peak):
otherwise the matching entry limit would block entries for ever. A checkpoint (``EquitySnapshotTaken``)
restores what depends on prices rather than on events: the peak and day-start equity and each
instrument's last candle, close and volatility.

Also here: the fast path's thresholds (``refresh``), kept in step with the state after every change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from trading_agent.domain import (
    CircuitBreakerReset,
    CircuitBreakerTripped,
    ClientOrderId,
    EquitySnapshotTaken,
    Event,
    FundingApplied,
    Instrument,
    InstrumentId,
    MarketAnomaly,
    Order,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderFillRefused,
    OrderId,
    OrderIntent,
    OrderRejected,
    OrderRole,
    OrderSubmitted,
    PortfolioState,
    Position,
    PositionChanged,
    PositionClosed,
    PositionLiquidated,
    PositionSide,
    RiskApproved,
)
from trading_agent.engine.account import Account, Totals
from trading_agent.engine.book import ALWAYS, InstrumentBook
from trading_agent.engine.config import EngineConfig
from trading_agent.engine.errors import EngineError
from trading_agent.engine.funding import next_funding_time
from trading_agent.engine.margin import unrealized_pnl
from trading_agent.engine.orders import OrderEvent, OrderState
from trading_agent.engine.positions import apply_fill, apply_funding
from trading_agent.engine.recorder import UNSTAMPED
from trading_agent.risk.breakers import (
    BreakerBoard,
    DailyLossBreaker,
    DrawdownBreaker,
    RapidFireBreaker,
    VolatilityBreaker,
)

__all__ = ["EngineState", "UnknownOrderError"]

_INF = math.inf
_MS_PER_DAY = 86_400_000
_BAND_MARGIN = 1e-6  # relative width kept between a close band and the level it guards


class UnknownOrderError(EngineError):
    """No order has that id or client order id."""


class EngineState:
    """Orders, books (positions, marks), the account and the breakers; changed only by ``apply``."""

    def __init__(self, config: EngineConfig, instruments: Iterable[Instrument]) -> None:
        self.config = config
        self.timeframe_ms = config.timeframe.ms
        self.instruments: dict[InstrumentId, Instrument] = {}
        for instrument in instruments:
            if instrument.id in self.instruments:
                raise EngineError(f"instrument {instrument.id} given twice")
            self.instruments[instrument.id] = instrument
        if not self.instruments:
            raise EngineError("the engine needs at least one instrument")
        self.books = {key: InstrumentBook(instrument) for key, instrument in self.instruments.items()}
        window_ms = config.breakers.rapid_fire_window_s * 1000
        self.account = Account(config.initial_balance, entry_memory_ms=max(2 * _MS_PER_DAY, window_ms))
        self.board = BreakerBoard.from_rules(config.breakers)
        self.orders: dict[OrderId, OrderState] = {}
        self.client_ids: dict[ClientOrderId, OrderId] = {}
        self.requested: dict[ClientOrderId, int] = {}  # contracts asked for, where the risk manager changed them
        self.orders_made = 0
        self.fills_made = 0
        self._expected: tuple[OrderState, OrderState] | None = None

    # --- queries ----------------------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        """Market time: the close of the latest candle processed on any instrument (0 before any)."""
        seen = [book.last_ts for book in self.books.values() if book.last_ts is not None]
        return max(seen) + self.timeframe_ms if seen else 0

    def book(self, instrument: InstrumentId) -> InstrumentBook:
        """The book of a known instrument."""
        book = self.books.get(instrument)
        if book is None:
            known = ", ".join(str(key) for key in self.books)
            raise EngineError(f"unknown instrument {instrument} (known: {known})")
        return book

    def lookup(self, ref: str) -> OrderState:
        """The order with this order id or client order id."""
        state = self.orders.get(OrderId(ref))
        if state is None:
            order_id = self.client_ids.get(ClientOrderId(ref))
            state = self.orders.get(order_id) if order_id is not None else None
        if state is None:
            raise UnknownOrderError(f"no order has the id or client order id {ref!r}")
        return state

    def requested_intent(self, order: Order) -> OrderIntent:
        """``order``'s intent as it was submitted, before the risk manager resized it (if it did)."""
        client_id = order.intent.client_order_id
        requested = None if client_id is None else self.requested.get(client_id)
        return order.intent if requested is None else replace(order.intent, contracts=requested)

    def positions(self) -> list[Position]:
        """Open positions, in instrument order."""
        return [position for book in self.books.values() if (position := book.position) is not None]

    def totals(self) -> Totals:
        """Realised PnL, fees, funding, margin and unrealised PnL (at the marks) over all instruments."""
        totals = Totals()
        for book in self.books.values():
            position_state = book.position_state
            totals.realized_pnl += position_state.realized_pnl
            totals.fees += position_state.fees
            totals.funding += position_state.funding
            position = position_state.position
            if position is not None:
                totals.margin += position.margin
                if book.mark is not None:
                    mark = Decimal(repr(book.mark))
                    totals.unrealized_pnl += unrealized_pnl(
                        position.side, position.contracts, position.entry_price, mark, book.instrument
                    )
        return totals

    def portfolio_state(self) -> PortfolioState:
        """The account at market time, valued at the marks."""
        return self.account.state(self.now_ms, self.totals(), self.positions())

    def snapshot(self) -> dict[str, Any]:
        """Everything, as plain comparable values (a rebuilt state gives an equal one)."""
        account = self.account
        return {
            "orders": {key: (state.order, state.trade_ids) for key, state in self.orders.items()},
            "books": {str(key): book.snapshot() for key, book in self.books.items()},
            "account": (
                account.peak_equity,
                account.day_start_equity,
                account.day,
                account.consecutive_losses,
                tuple(account.entry_times),
                tuple(account.trades),
            ),
            "breakers": dict(self.board.tripped),
            "counters": (self.orders_made, self.fills_made),
            "requested": dict(self.requested),
            "state": self.portfolio_state(),
        }

    # --- the fold ---------------------------------------------------------------------------------

    def expect(self, before: OrderState, after: OrderState) -> None:
        """Hand the fold the state the next order event leads to, computed from ``before`` by the caller.

        ``Execution.transition`` runs the state machine once to build the event (a stand-in that
        differs only in ``event_id`` and ``ts_init``, which the state machine never reads), so the
        fold need not run it a second time: it takes ``after`` when the event carries exactly
        ``after.order`` and the order is still in state ``before``, and applies the event otherwise.
        """
        self._expected = (before, after)

    def _order_after(self, event: OrderEvent) -> OrderState:
        """The order's state after ``event``: the one handed over by ``expect`` when it fits, else computed."""
        current = self.orders[event.order.id]
        expected, self._expected = self._expected, None
        if expected is not None and expected[0] is current and expected[1].order is event.order:
            return expected[1]
        return current.apply(event)

    def apply(self, event: Event) -> tuple[Event, ...]:
        """Apply one event; return the position events it implies (not yet stamped)."""
        match event:
            case OrderSubmitted(order=order):
                self.orders[order.id] = OrderState.submitted(event)
                if order.intent.client_order_id is not None:
                    self.client_ids[order.intent.client_order_id] = order.id
                self.orders_made += 1
            case OrderFilled():
                return self._apply_fill(event)
            case OrderAccepted() | OrderRejected() | OrderCanceled() | OrderAmended():
                state = self._order_after(event)
                self.orders[event.order.id] = state
                book = self.books.get(state.order.intent.instrument)
                if book is not None:
                    book.track(state)
            case OrderFillRefused(order=order, attempt=attempt):
                self.books[order.intent.instrument].refusals[order.id] = attempt
            case FundingApplied(instrument=instrument, rate=rate, amount=amount):
                book = self.books[instrument]
                book.position_state = apply_funding(book.position_state, amount, book.instrument)
                book.next_funding_ts = rate.ts + book.instrument.funding_interval_s * 1000
                position = book.position
                return (
                    ()
                    if position is None
                    else (PositionChanged(ts_event=event.ts_event, position=position, **UNSTAMPED),)
                )
            case RiskApproved(intent=intent, requested_contracts=requested) if requested is not None:
                if intent.client_order_id is not None:
                    self.requested[intent.client_order_id] = requested
            case MarketAnomaly(instrument=instrument, active=active):
                self.books[instrument].anomalous = active
            case CircuitBreakerTripped():
                self.board.apply(event)
            case CircuitBreakerReset(breaker=name):
                self.board.apply(event)
                self._rebaseline(name)
            case EquitySnapshotTaken(state=state, marks=marks):
                self.account.restore(state)
                for mark in marks:
                    book = self.books[mark.instrument]
                    book.last_ts, book.mark, book.volatility = mark.candle_ts, float(mark.price), mark.volatility
        return ()

    def _rebaseline(self, breaker: str) -> None:
        """A reset starts the rule's measure afresh, so the matching entry limit lets trading resume."""
        if breaker == "consecutive_losses":
            self.account.consecutive_losses = 0
        elif breaker == "drawdown":
            self.account.peak_equity = self.account.equity(self.totals())

    def _apply_fill(self, event: OrderFilled) -> tuple[Event, ...]:
        state = self._order_after(event)
        self.orders[event.order.id] = state
        self.fills_made += 1
        intent, fill = state.order.intent, event.fill
        book = self.books[intent.instrument]
        book.track(state)
        before = book.position
        reason = "reversal" if intent.role is OrderRole.ENTRY else intent.role.value
        book.position_state, derived = apply_fill(
            book.position_state,
            fill,
            book.instrument,
            leverage=intent.leverage,
            ts=fill.ts,
            exit_reason=reason,
            opened_by=book.entry_intent,
        )
        after = book.position
        out: list[Event] = []
        for position_event in derived:
            out.append(
                self._closed(position_event, intent.role)
                if isinstance(position_event, PositionClosed)
                else position_event
            )
        opened = after is not None and (before is None or before.side is not after.side)
        if opened:
            book.entry_intent = intent
            interval = book.instrument.funding_interval_s
            first_settlement = fill.ts + self.timeframe_ms  # settlements inside the fill's candle came before it
            book.next_funding_ts = next_funding_time(first_settlement, interval, self.config.funding_anchor_ms)
        elif after is None:
            book.entry_intent = None
            book.next_funding_ts = None
        if opened or (after is not None and before is not None and after.contracts > before.contracts):
            self.account.record_entry(fill.ts)
        return tuple(out)

    def _closed(self, event: PositionClosed, role: OrderRole) -> Event:
        self.account.record_trade(event.trade)
        if role is OrderRole.LIQUIDATION:
            return PositionLiquidated(ts_event=event.ts_event, trade=event.trade, **UNSTAMPED)
        return event

    # --- the fast path's thresholds ---------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute every book's thresholds (after any change of state or of the account).

        A tripped breaker needs the slow path only when it may clear by itself: the volatility
        breaker when volatility falls back (checked in the fast path), rapid fire when an entry
        leaves its window, the daily loss at the next UTC day (a day roll always wakes the engine),
        the drawdown and the losing streak when their ``auto_reset_after_s`` has passed.
        """
        exits, tf = self.config.exits, self.timeframe_ms
        for book in self.books.values():
            book.refresh_triggers(self.orders, exits, tf)
        day = self.account.day
        wake = ALWAYS if day is None else (day + 1) * _MS_PER_DAY - tf
        tripped = self.board.tripped
        if RapidFireBreaker.name in tripped:
            window_ms = self.config.breakers.rapid_fire_window_s * 1000
            counted = self.account.entries_since(self.now_ms - window_ms)
            wake = min(wake, min(counted) + window_ms - tf) if counted else ALWAYS
        due = self.board.next_reset_due_ms()
        if due is not None:  # a breaker that resets by the clock: the candle closing at or after it
            wake = min(wake, due - tf)
        holders = [book for book in self.books.values() if book.position is not None]
        band = self._close_band(holders[0], tripped) if len(holders) == 1 else (_INF, -_INF)
        volatility_tripped = VolatilityBreaker.name in tripped
        for book in self.books.values():
            book.wake_ts = min(book.wake_ts, wake)
            book.close_low, book.close_high = (-_INF, _INF) if book.position is None else band
            book.volatility_tripped = volatility_tripped

    def _close_band(self, book: InstrumentBook, tripped: Mapping[str, str]) -> tuple[float, float]:
        """Closes between which equity neither sets a new peak nor reaches an untripped loss breaker.

        Valid while ``book`` holds the only position: equity is then linear in its close.
        """
        position = book.position
        if position is None:
            return -_INF, _INF
        rules = self.config.breakers
        balance = float(self.account.balance(self.totals()))
        entry = float(position.entry_price)
        long = position.side is PositionSide.LONG
        exposure = (1 if long else -1) * position.contracts * float(book.instrument.contract_value)
        peak = float(self.account.peak_equity)
        floors = []
        if DrawdownBreaker.name not in tripped:
            floors.append(peak * (1 - rules.max_drawdown_percent / 100))
        if DailyLossBreaker.name not in tripped:
            floors.append(float(self.account.day_start_equity) * (1 - rules.max_daily_loss_percent / 100))
        margin = entry * _BAND_MARGIN

        def price_at(equity: float) -> float:
            return entry + (equity - balance) / exposure

        peak_price = price_at(peak)
        floor_prices = [price_at(floor) for floor in floors]
        if long:
            return max(floor_prices, default=-_INF) + margin, peak_price - margin
        return peak_price + margin, min(floor_prices, default=_INF) - margin
