"""One candle through the engine's slow path: funding, the open, the two legs, the close.

In order:

1. **Funding** settlements due before the candle's close are paid at its open price, on the
   position held before the candle (a position opened in the candle pays from the next one).
   Funding comes out of the isolated margin and moves the liquidation price; a settlement after
   which the open price has reached it liquidates the position at once. The margin itself may go
   below zero: a position in profit lives on while margin + uPnL covers the maintenance margin.
2. **The open**: a position whose liquidation price the open gapped through is liquidated; then
   every order that acts at the open fills, in submission order: market orders, limits already
   marketable, stops the open gapped through (with the fill rules of ``fills``).
3. **The legs** (``intrabar``): adverse extreme first; resting orders and the liquidation fill in
   the order the price reaches them. An order placed inside the candle (the exits of an entry that
   filled in it) may stop the position out in the same candle but never takes profit in it: the
   candle's favourable extreme may have come before the entry.
4. **The close**: what is left of an order past its ``expire_ts`` is canceled; the trailing stop
   moves with the candle's favourable extreme (with the close for a position opened inside the
   candle), effective from the next candle; a position held for ``max_holding_period_s`` gets a
   market exit for the next open; the account is valued at the close and the circuit breakers are
   checked (a trip may flatten everything).

Refused fills are tried once per candle; a stop-limit that triggers without reaching its limit
becomes a resting limit order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from trading_agent.domain import (
    Candle,
    CircuitBreakerTripped,
    FundingApplied,
    FundingRate,
    InstrumentId,
    OrderId,
    OrderIntent,
    OrderRole,
    OrderType,
    Position,
    PositionSide,
    Side,
)
from trading_agent.engine.book import InstrumentBook
from trading_agent.engine.config import EngineConfig
from trading_agent.engine.execution import Execution
from trading_agent.engine.exits import time_exit_deadline, trailing_stop
from trading_agent.engine.fills import FillDecision, simulate_fill
from trading_agent.engine.funding import FundingSeries, funding_payment, rate_at
from trading_agent.engine.intrabar import legs, next_trigger
from trading_agent.engine.margin import is_liquidated
from trading_agent.engine.recorder import Recorder
from trading_agent.engine.state import EngineState
from trading_agent.risk.breakers import Observation

__all__ = ["CandleMatcher"]


def _acts_at_open(intent: OrderIntent, open_: Decimal) -> bool:
    if intent.order_type is OrderType.MARKET:
        return True
    buy = intent.side is Side.BUY
    if intent.order_type is OrderType.LIMIT and intent.limit_price is not None:
        return open_ <= intent.limit_price if buy else open_ >= intent.limit_price
    stop = intent.stop_price
    return stop is not None and (open_ >= stop if buy else open_ <= stop)


class CandleMatcher:
    """Runs one candle of one instrument through funding, fills, exits and the breakers."""

    def __init__(
        self,
        config: EngineConfig,
        state: EngineState,
        execution: Execution,
        recorder: Recorder,
        funding: Mapping[InstrumentId, FundingSeries],
    ) -> None:
        self._config = config
        self._state = state
        self._execution = execution
        self._recorder = recorder
        self._funding = funding
        self._rapid_fire_window_ms = config.breakers.rapid_fire_window_s * 1000

    def process(
        self, book: InstrumentBook, candle: Candle, volatility: float | None, average_volatility: float | None
    ) -> None:
        """The whole slow path for one candle (the caller refreshes the thresholds)."""
        self._settle_funding(book, candle)
        opened_inside = self._match(book, candle)
        book.last_ts, book.mark = candle.ts, candle.close
        self._close(book, candle, opened_inside, volatility, average_volatility)
        book.volatility = volatility

    def _settle_funding(self, book: InstrumentBook, candle: Candle) -> None:
        end = candle.ts + self._state.timeframe_ms
        series = self._funding.get(book.instrument.id)
        while (position := book.position) is not None and book.next_funding_ts is not None:
            settle_ts = book.next_funding_ts
            if settle_ts >= end:
                return
            rate = rate_at(settle_ts, series) if series is not None else self._config.default_funding_rate
            mark = Decimal(repr(candle.open))
            cash = funding_payment(position.side, position.contracts, mark, rate, book.instrument)
            ids = self._recorder.ids(settle_ts)
            rate_record = FundingRate(settle_ts, float(rate))
            event = FundingApplied(
                ts_event=settle_ts, instrument=book.instrument.id, rate=rate_record, amount=-cash, **ids
            )
            self._recorder.emit(event)
            held = book.position
            if held is not None and (
                held.liquidation_price is None or is_liquidated(held.side, held.liquidation_price, mark)
            ):
                self._execution.liquidate(book, candle.ts, book.instrument.round_price(mark))

    # --- the open and the legs --------------------------------------------------------------------

    def _match(self, book: InstrumentBook, candle: Candle) -> bool:
        """Fill what the candle reaches; return whether a position was opened inside the candle."""
        snap = book.instrument.round_price
        open_, high, low = (snap(Decimal(repr(p))) for p in (candle.open, candle.high, candle.low))
        volatility = book.volatility if book.volatility is not None else (candle.high - candle.low) / candle.open
        self._at_open(book, candle, open_, volatility)
        skip: set[OrderId] = set()
        opened = False
        self._execution.fresh = set()
        try:
            for start, end in legs(open_, high, low, book.position.side if book.position else None):
                opened = self._walk(book, candle, (start, end), volatility, skip) or opened
        finally:
            self._execution.fresh = None
        return opened

    def _at_open(self, book: InstrumentBook, candle: Candle, open_: Decimal, volatility: float) -> None:
        position = book.position
        if position is not None:
            liquidation = position.liquidation_price
            long = position.side is PositionSide.LONG
            if liquidation is None or (open_ <= liquidation if long else open_ >= liquidation):
                self._execution.liquidate(book, candle.ts, open_)
        done: set[OrderId] = set()
        orders = self._state.orders
        while due := [
            order_id
            for order_id in book.open_orders
            if order_id not in done and _acts_at_open(orders[order_id].order.intent, open_)
        ]:
            for order_id in due:
                done.add(order_id)
                if order_id in book.open_orders:
                    decision = self._decide(book, orders[order_id].order.intent, candle, volatility)
                    self._act(book, order_id, decision, candle.ts)

    def _walk(
        self,
        book: InstrumentBook,
        candle: Candle,
        leg: tuple[Decimal, Decimal],
        volatility: float,
        skip: set[OrderId],
    ) -> bool:
        """Walk one leg ``(start, end)``; return whether a position was opened on it."""
        start, end = leg
        opened = False

        def eligible(order_id: OrderId) -> bool:
            return self._eligible(order_id, skip)

        while (trigger := next_trigger(book, self._state.orders, start, end, eligible)) is not None:
            before = book.position
            if trigger.order_id is None:
                self._execution.liquidate(book, candle.ts)
            else:
                stretch = Candle(
                    candle.ts, float(start), float(max(start, end)), float(min(start, end)), float(end), candle.volume
                )
                decision = self._decide(book, self._state.orders[trigger.order_id].order.intent, stretch, volatility)
                if not self._act(book, trigger.order_id, decision, candle.ts) or decision.refused:
                    skip.add(trigger.order_id)
            after = book.position
            opened = opened or (after is not None and (before is None or before.side is not after.side))
            start = trigger.level
        return opened

    def _eligible(self, order_id: OrderId, skip: set[OrderId]) -> bool:
        if order_id in skip:
            return False
        fresh = self._execution.fresh
        if fresh is not None and order_id in fresh:
            return self._state.orders[order_id].order.intent.role.is_stop
        return True

    def _decide(self, book: InstrumentBook, intent: OrderIntent, candle: Candle, volatility: float) -> FillDecision:
        guarded = not intent.role.is_protective and not intent.reduce_only
        return simulate_fill(
            intent,
            candle,
            book.instrument,
            self._config.slippage,
            max_slippage_percent=self._config.execution.max_slippage_percent if guarded else None,
            volatility=volatility,
        )

    def _act(self, book: InstrumentBook, order_id: OrderId, decision: FillDecision, ts: int) -> bool:
        """Carry out a fill decision made on the candle opening at ``ts``; return whether the order changed."""
        state = self._state.orders[order_id]
        if decision.filled and decision.price is not None and decision.liquidity is not None:
            self._execution.fill(book, state, decision.price, decision.liquidity, ts)
            return True
        if decision.refused:
            self._execution.refuse(book, state, decision.detail or str(decision.reason), ts)
            return True
        if decision.triggered:
            intent = replace(state.order.intent, order_type=OrderType.LIMIT, stop_price=None)
            self._execution.amend(state, intent, "stop triggered: now a limit order", ts)
            return True
        return False

    # --- the close --------------------------------------------------------------------------------

    def _close(
        self,
        book: InstrumentBook,
        candle: Candle,
        opened_inside: bool,
        volatility: float | None,
        average_volatility: float | None,
    ) -> None:
        close_ms = candle.ts + self._state.timeframe_ms
        orders = self._state.orders
        for order_id in list(book.open_orders):
            expire_ts = orders[order_id].order.intent.expire_ts
            if expire_ts is not None and expire_ts <= close_ms:
                self._execution.cancel(orders[order_id], f"expired: not filled by {expire_ts}", close_ms)
        position = book.position
        if position is not None:
            self._trail(book, position, candle, opened_inside, close_ms)
            deadline = time_exit_deadline(position.ts_opened, self._config.exits)
            if (
                deadline is not None
                and deadline <= close_ms
                and not self._execution.has_role(book, OrderRole.TIME_EXIT)
            ):
                self._execution.place_protective(book, OrderRole.TIME_EXIT, OrderType.MARKET, close_ms)
        state = self._state
        totals = state.totals()
        state.account.mark(state.account.equity(totals), close_ms)
        observation = Observation(
            state=state.account.state(close_ms, totals, state.positions()),
            current_volatility=volatility,
            average_volatility=average_volatility,
            trade_timestamps=tuple(state.account.entries_since(close_ms - self._rapid_fire_window_ms)),
        )
        tripped = False
        for event in state.board.check(observation, close_ms):
            self._recorder.emit(replace(event, **self._recorder.ids(close_ms)))
            tripped = tripped or isinstance(event, CircuitBreakerTripped)
        if tripped and state.board.flatten_on_trip:
            self._execution.flatten_all("circuit breaker tripped", close_ms)

    def _trail(self, book: InstrumentBook, position: Position, candle: Candle, opened_inside: bool, ts: int) -> None:
        favourable = candle.high if position.side is PositionSide.LONG else candle.low
        extreme = candle.close if opened_inside else favourable
        stop_state = self._state.orders[book.stop_order] if book.stop_order is not None else None
        current = stop_state.order.intent.stop_price if stop_state is not None else None
        moved = trailing_stop(
            position.side, position.entry_price, current, Decimal(repr(extreme)), self._config.exits, book.instrument
        )
        if moved is None:
            return
        if stop_state is None:
            self._execution.place_protective(book, OrderRole.TRAILING_STOP, OrderType.STOP_MARKET, ts, stop=moved)
            return
        intent = replace(stop_state.order.intent, stop_price=moved, role=OrderRole.TRAILING_STOP)
        self._execution.amend(stop_state, intent, f"trailing stop moved to {moved}", ts)
