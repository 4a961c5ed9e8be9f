"""Order lifecycle as events: place, reject, cancel, amend, refuse, fill, liquidate, and the exits a fill implies.

Each operation decides and emits events through the ``Recorder``; the state changes only when the
fold applies them. Orders get ids ``s-O1``, fills ``s-F1`` and generated client order ids ``s-C1``
(``s`` the session), counted from the state so a rebuilt engine continues the sequence.

Rules kept here:

- **Reduce-only** fills at most the position (the rest is canceled) and is canceled when there is
  no opposite position to reduce.
- **Margin at the fill**: a fill that adds exposure must find its margin and fee in the available
  balance (the part that closes a position frees its margin and realises its PnL first); if not,
  it is refused and canceled.
- **Refused fills** (slippage over the limit) are retried on later candles up to
  ``max_retries`` times, then canceled; each refusal is journaled with its reason and attempt.
- **Exits follow the position**: a fill that opens (or reverses) a position places its stop-loss
  and take-profit (absolute prices from the intent, or measured from ``stop_distance`` around the
  entry); an add with new exits replaces them, any other change resizes them; a flat position
  cancels them (one cancels the other).
- **Liquidation** closes the whole position at its bankruptcy price (the loss is the margin),
  without a fee, after canceling every other order of the instrument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from trading_agent.domain import (
    ClientOrderId,
    Fill,
    Liquidity,
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
    OrderStatus,
    OrderSubmitted,
    OrderType,
    Position,
    PositionSide,
    Side,
    TradeId,
)
from trading_agent.engine.book import InstrumentBook
from trading_agent.engine.config import EngineConfig
from trading_agent.engine.errors import EngineError
from trading_agent.engine.exits import bracket_prices
from trading_agent.engine.margin import bankruptcy_price_for_margin, realized_pnl
from trading_agent.engine.orders import OrderEvent, OrderState
from trading_agent.engine.recorder import UNSTAMPED, Recorder
from trading_agent.engine.state import EngineState

__all__ = ["Execution", "exit_side"]

_ZERO = Decimal(0)


def exit_side(position: Position) -> Side:
    """The side of an order that reduces ``position``."""
    return Side.SELL if position.side is PositionSide.LONG else Side.BUY


def _has_exits(intent: OrderIntent) -> bool:
    return intent.stop_loss is not None or intent.take_profit is not None or intent.stop_distance is not None


class Execution:
    """Emits the events of the order lifecycle for one engine."""

    def __init__(self, config: EngineConfig, state: EngineState, recorder: Recorder) -> None:
        self._config = config
        self._state = state
        self._recorder = recorder
        self.fresh: set[OrderId] | None = None
        """Orders placed while a candle is being matched (set by the matcher, else ``None``)."""

    def next_client_id(self) -> ClientOrderId:
        """The client order id the next order gets when it brings none."""
        return ClientOrderId(f"{self._config.session}-C{self._state.orders_made + 1}")

    def _new_order(self, intent: OrderIntent, ts: int) -> OrderState:
        order = Order(
            id=OrderId(f"{self._config.session}-O{self._state.orders_made + 1}"),
            intent=intent,
            status=OrderStatus.SUBMITTED,
            ts_created=ts,
            ts_updated=ts,
        )
        self._recorder.emit(OrderSubmitted(ts_event=ts, order=order, **self._recorder.ids(ts)))
        return self._state.orders[order.id]

    def transition(self, state: OrderState, make: Callable[..., OrderEvent]) -> None:
        """Emit the event ``make(order, **ids)`` builds, carrying the order as it will be after it.

        The order after the event is computed by the state machine on a stand-in event and handed
        to the fold (``EngineState.expect``), which takes it for the real event instead of
        computing it again.
        """
        after = state.apply(make(state.order, **UNSTAMPED))
        self._state.expect(state, after)
        self._recorder.emit(make(after.order, **self._recorder.ids(after.order.ts_updated)))

    def place(self, intent: OrderIntent, ts: int) -> Order:
        """Submit and accept an order (it rests, or waits for the next open)."""
        state = self._new_order(intent, ts)
        self.transition(state, lambda o, **ids: OrderAccepted(ts_event=ts, order=o, **ids))
        order = self._state.orders[state.order.id].order
        if self.fresh is not None:
            self.fresh.add(order.id)
        return order

    def reject(self, intent: OrderIntent, reason: str, ts: int) -> Order:
        """Submit and reject an order, with the reason."""
        state = self._new_order(intent, ts)
        self.transition(state, lambda o, **ids: OrderRejected(ts_event=ts, order=o, reason=reason, **ids))
        return self._state.orders[state.order.id].order

    def cancel(self, state: OrderState, reason: str, ts: int) -> None:
        """Cancel an open order, with the reason."""
        self.transition(state, lambda o, **ids: OrderCanceled(ts_event=ts, order=o, reason=reason, **ids))

    def amend(self, state: OrderState, intent: OrderIntent, reason: str, ts: int) -> None:
        """Replace an open order's intent (size, prices; a trailing stop also changes its role)."""
        self.transition(
            state, lambda o, **ids: OrderAmended(ts_event=ts, order=replace(o, intent=intent), reason=reason, **ids)
        )

    def refuse(self, book: InstrumentBook, state: OrderState, reason: str, ts: int, *, final: bool = False) -> None:
        """Journal a refused fill; cancel the order when it is final or out of retries."""
        attempt = book.refusals.get(state.order.id, 0) + 1
        self._recorder.emit(
            OrderFillRefused(ts_event=ts, order=state.order, reason=reason, attempt=attempt, **self._recorder.ids(ts))
        )
        rules = self._config.execution
        if final or not rules.retry_failed_orders or attempt > rules.max_retries:
            self.cancel(self._state.orders[state.order.id], f"fill refused ({attempt} attempt(s)): {reason}", ts)

    def place_protective(
        self,
        book: InstrumentBook,
        role: OrderRole,
        order_type: OrderType,
        ts: int,
        *,
        stop: Decimal | None = None,
        limit: Decimal | None = None,
    ) -> Order:
        """Place one of the engine's own reduce-only orders for the whole position."""
        position = book.position
        if position is None:
            raise EngineError(f"{role} order on the flat {book.instrument.id} book")
        intent = OrderIntent(
            instrument=book.instrument.id,
            side=exit_side(position),
            contracts=position.contracts,
            order_type=order_type,
            limit_price=limit,
            stop_price=stop,
            reduce_only=True,
            client_order_id=self.next_client_id(),
            role=role,
        )
        return self.place(intent, ts)

    def has_role(self, book: InstrumentBook, role: OrderRole) -> bool:
        """Whether an open order of ``role`` rests on ``book``."""
        return any(self._state.orders[order_id].order.intent.role is role for order_id in book.open_orders)

    # --- fills ------------------------------------------------------------------------------------

    def fill(self, book: InstrumentBook, state: OrderState, price: Decimal, liquidity: Liquidity, ts: int) -> None:
        """Fill what remains of an order at ``price`` (see the module rules), then follow with the exits."""
        order, instrument = state.order, book.instrument
        intent = order.intent
        position = book.position
        contracts = order.remaining_contracts
        if intent.reduce_only:
            if position is None or exit_side(position) is not intent.side:
                self.cancel(state, "reduce-only order found no position to reduce", ts)
                return
            contracts = min(contracts, position.contracts)
        liquidation = intent.role is OrderRole.LIQUIDATION
        fee = _ZERO if liquidation else self._config.fees.fee(instrument, contracts, price, liquidity)
        if not intent.reduce_only:
            shortfall = self._margin_shortfall(book, intent, contracts, price, fee)
            if shortfall is not None:
                self.refuse(book, state, shortfall, ts, final=True)
                return
        fill = Fill(
            trade_id=TradeId(f"{self._config.session}-F{self._state.fills_made + 1}"),
            order_id=order.id,
            instrument=instrument.id,
            side=intent.side,
            contracts=contracts,
            price=price,
            fee=fee,
            liquidity=liquidity,
            ts=ts,
        )
        self.transition(state, lambda o, **ids: OrderFilled(ts_event=ts, order=o, fill=fill, **ids))
        after = self._state.orders[order.id]
        if not after.order.status.is_terminal:
            self.cancel(after, "reduce-only order was larger than the position", ts)
        self._follow_position(book, intent, position, ts)

    def _margin_shortfall(
        self, book: InstrumentBook, intent: OrderIntent, contracts: int, price: Decimal, fee: Decimal
    ) -> str | None:
        position = book.position
        available = self._state.account.available(self._state.totals())
        added = contracts
        if position is not None and exit_side(position) is intent.side:
            closed = min(contracts, position.contracts)
            added = contracts - closed
            available += position.margin * closed / position.contracts
            available += realized_pnl(position.side, closed, position.entry_price, price, book.instrument)
        if added == 0:
            return None
        needed = book.instrument.notional(added, price) / intent.leverage + fee
        if needed <= available:
            return None
        return f"insufficient margin: the fill needs {needed:.2f} USD of margin and fees, {available:.2f} available"

    def liquidate(self, book: InstrumentBook, ts: int, fallback_price: Decimal | None = None) -> None:
        """Close the position at its bankruptcy price (at ``fallback_price``, the market's, when no margin is left)."""
        position = book.position
        if position is None:
            return
        instrument = book.instrument
        if position.margin > 0 or fallback_price is None:
            price = bankruptcy_price_for_margin(
                position.side, position.contracts, position.entry_price, position.margin, instrument
            )
        else:
            price = fallback_price if fallback_price is not None else instrument.tick_size
        for order_id in list(book.open_orders):
            self.cancel(self._state.orders[order_id], "position liquidated", ts)
        order = self.place_protective(book, OrderRole.LIQUIDATION, OrderType.MARKET, ts)
        self.fill(book, self._state.orders[order.id], max(price, instrument.tick_size), Liquidity.TAKER, ts)

    def flatten_all(self, reason: str, ts: int) -> None:
        """Cancel every entry order and close every position at the next open."""
        for book in self._state.books.values():
            for order_id in list(book.open_orders):
                if not self._state.orders[order_id].order.intent.reduce_only:
                    self.cancel(self._state.orders[order_id], reason, ts)
            if book.position is not None and not self.has_role(book, OrderRole.FLATTEN):
                self.place_protective(book, OrderRole.FLATTEN, OrderType.MARKET, ts)

    # --- exits ------------------------------------------------------------------------------------

    def _follow_position(self, book: InstrumentBook, intent: OrderIntent, before: Position | None, ts: int) -> None:
        after = book.position
        reversed_ = before is not None and after is not None and before.side is not after.side
        if after is None or reversed_:
            self._cancel_protective(book, "position closed" if after is None else "position reversed", ts)
        if after is None:
            return
        if before is None or reversed_:
            self._place_exits(book, intent, after, ts)
        elif after.contracts > before.contracts and _has_exits(intent):
            self._cancel_protective(book, "exits replaced by a new entry", ts, keep_time_exit=True)
            self._place_exits(book, intent, after, ts)
        else:
            for order_id in (book.stop_order, book.target_order):
                state = self._state.orders[order_id] if order_id is not None else None
                if state is not None and state.order.intent.contracts != after.contracts:
                    self.amend(
                        state, replace(state.order.intent, contracts=after.contracts), "resized to the position", ts
                    )

    def _place_exits(self, book: InstrumentBook, intent: OrderIntent, position: Position, ts: int) -> None:
        stop, target = intent.stop_loss, intent.take_profit
        if intent.stop_distance is not None:
            measured_stop, measured_target = bracket_prices(
                position.side,
                position.entry_price,
                intent.stop_distance,
                book.instrument,
                risk_reward=self._config.exits.target_risk_reward,
            )
            stop = stop if stop is not None else measured_stop
            target = target if target is not None else measured_target
        if stop is not None:
            self.place_protective(book, OrderRole.STOP_LOSS, OrderType.STOP_MARKET, ts, stop=stop)
        if target is not None:
            self.place_protective(book, OrderRole.TAKE_PROFIT, OrderType.LIMIT, ts, limit=target)

    def _cancel_protective(self, book: InstrumentBook, reason: str, ts: int, *, keep_time_exit: bool = False) -> None:
        for order_id in list(book.open_orders):
            role = self._state.orders[order_id].order.intent.role
            if role.is_protective and not (keep_time_exit and role is OrderRole.TIME_EXIT):
                self.cancel(self._state.orders[order_id], reason, ts)
