"""The trading engine: one object for backtests and paper trading, rebuilt from its journal after a crash.

Event-sourced (``state``): every change is an event applied by one fold, whether the engine just
decided it or is replaying its journal. ``commit`` writes the step's events to the journal in one
transaction, then announces them: journal first, so a crash loses nothing that was announced,
and a step that was not committed is simply done again.

Per candle (``on_candle``, or the fast callable from ``feed``) the engine settles funding, fills
what the candle reaches and manages the exits (``matching``). A candle that provably does nothing
takes the fast path instead: a few float comparisons against thresholds kept by ``book``.
``feed_arrays`` takes a backtest's candles as arrays and skips the quiet ones with numpy
(``candle_arrays``), sending the others down the same per-candle path.

Orders from outside pass the gate (``gate``): invalid orders and risk refusals come back as
``REJECTED`` orders with the reason, journaled, never raised. Ids are deterministic (``recorder``,
``execution``), and ``ts_init`` is market time unless a clock is given: two runs over the same
candles write identical journals. Conventions: a fill's ``ts`` is the open time of its candle; a
trade's exit reason is the role of the order that closed it (``reversal`` when an entry did).

A failure half-way through a change (or a refused journal write) stops the engine: it raises
``EngineFailedError`` from then on, and the way forward is ``rebuild`` from the journal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_agent.domain import (
    AgentControlled,
    Candle,
    CircuitBreakerReset,
    CircuitBreakerTripped,
    EquitySnapshotTaken,
    Event,
    Instrument,
    InstrumentId,
    InstrumentMark,
    MarketAnomaly,
    Order,
    OrderIntent,
    PortfolioState,
    Position,
    RiskApproved,
    RiskRejected,
    SignalFiltered,
    SignalGenerated,
    Trade,
)
from trading_agent.engine.book import InstrumentBook
from trading_agent.engine.candle_arrays import CandleArrays, next_busy
from trading_agent.engine.config import EngineConfig
from trading_agent.engine.errors import EngineError
from trading_agent.engine.execution import Execution
from trading_agent.engine.funding import FundingSeries
from trading_agent.engine.gate import anomaly_adjusted, order_problem, reference_price, risk_decision
from trading_agent.engine.journal import EngineFailedError, Journal, JournalWriteError, MemoryJournal, Publisher
from trading_agent.engine.matching import CandleMatcher
from trading_agent.engine.orders import OrderState
from trading_agent.engine.recorder import Recorder
from trading_agent.engine.state import EngineState, UnknownOrderError

__all__ = [
    "AgentFact",
    "AmendRejectedError",
    "BarFeed",
    "CandleInputError",
    "DuplicateClientOrderIdError",
    "OrderNotOpenError",
    "StaleCandleError",
    "TradingEngine",
    "UnknownOrderError",
]

AgentFact = type[SignalGenerated] | type[SignalFiltered] | type[AgentControlled]
"""What the agent journals through the engine's step without changing the engine's state."""

BarFeed = Callable[..., None]
"""``feed(ts, open, high, low, close, volume, volatility=None, average_volatility=None)``."""

_INF = math.inf


class CandleInputError(EngineError):
    """A candle with impossible prices (NaN, non-positive, high below low, ...)."""


class StaleCandleError(EngineError):
    """A candle not after the last one processed on its instrument (a duplicate or out of order)."""


class DuplicateClientOrderIdError(EngineError):
    """A client order id reused for a different order."""


class OrderNotOpenError(EngineError):
    """Cancel or amend of an order that is filled, canceled or rejected."""


class AmendRejectedError(EngineError):
    """An amend the order cannot take (price off the tick, size below what is filled, ...)."""


class _FailureGuard:
    """``with engine._guard:`` a failure half-way through a change stops the engine (crash-only: rebuild).

    A plain context manager object, made once per engine: cheaper than a generator-based one on
    every step.
    """

    __slots__ = ("_engine",)

    def __init__(self, engine: TradingEngine) -> None:
        self._engine = engine

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc is not None:
            self._engine._failed = exc  # and the exception goes on


class TradingEngine:
    """Orders, fills, positions, margin, funding, liquidation, exits and risk for a set of instruments."""

    def __init__(
        self,
        config: EngineConfig,
        instruments: Iterable[Instrument],
        *,
        journal: Journal | None = None,
        publishers: Sequence[Publisher] = (),
        funding: Mapping[InstrumentId, FundingSeries] | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.config = config
        self._state = EngineState(config, instruments)
        unknown = set(funding or {}) - set(self._state.instruments)
        if unknown:
            raise EngineError(f"funding series for unknown instruments: {', '.join(map(str, unknown))}")
        series = {
            key: FundingSeries(s.timestamps, s.rates, config.default_funding_rate) for key, s in (funding or {}).items()
        }
        self._journal: Journal = journal if journal is not None else MemoryJournal()
        self._publishers = tuple(publishers)
        self._recorder = Recorder(config.session, self._state.apply, clock)
        self._execution = Execution(config, self._state, self._recorder)
        self._matcher = CandleMatcher(config, self._state, self._execution, self._recorder, series)
        self._vol_multiple = config.breakers.volatility_breaker_multiple
        self._stepped = False
        self._failed: BaseException | None = None
        self._guard = _FailureGuard(self)
        self._state.refresh()

    @classmethod
    def rebuild(
        cls,
        config: EngineConfig,
        instruments: Iterable[Instrument],
        *,
        journal: Journal,
        publishers: Sequence[Publisher] = (),
        funding: Mapping[InstrumentId, FundingSeries] | None = None,
        clock: Callable[[], int] | None = None,
        observe: Callable[[Event], None] | None = None,
    ) -> TradingEngine:
        """An engine in exactly the state its journal records (every event replayed through the fold).

        ``observe`` sees every replayed event after the engine applied it: how the agent rebuilds
        its own state (mode, pause) from the same pass over the journal.
        """
        engine = cls(config, instruments, journal=journal, publishers=publishers, funding=funding, clock=clock)
        for event in journal.read():
            engine._recorder.replay(event)
            if observe is not None:
                observe(event)
        engine._state.refresh()
        return engine

    # --- reading ----------------------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        """Market time: the close of the latest candle processed on any instrument (0 before any)."""
        return self._state.now_ms

    def position(self, instrument: InstrumentId) -> Position | None:
        """The open position on ``instrument``, or ``None``."""
        return self._state.book(instrument).position

    def order(self, ref: str) -> Order:
        """The order with this order id or client order id (``UnknownOrderError`` if none)."""
        return self._state.lookup(ref).order

    def open_orders(self, instrument: InstrumentId | None = None) -> tuple[Order, ...]:
        """Open orders (of one instrument, or all), in submission order."""
        state = self._state
        books = [state.book(instrument)] if instrument is not None else list(state.books.values())
        return tuple(state.orders[order_id].order for book in books for order_id in book.open_orders)

    @property
    def trades(self) -> tuple[Trade, ...]:
        """Closed round trips, oldest first."""
        return tuple(self._state.account.trades)

    @property
    def tripped_breakers(self) -> Mapping[str, str]:
        """Tripped circuit breakers and why."""
        return self._state.board.tripped

    def last_candle_ts(self, instrument: InstrumentId) -> int | None:
        """Open time of the last candle processed on ``instrument`` (resume after it)."""
        return self._state.book(instrument).last_ts

    def portfolio_state(self) -> PortfolioState:
        """The account now, valued at the last closes."""
        return self._state.portfolio_state()

    @property
    def sequence(self) -> int:
        """How many events the engine has stamped (its journal's length): deterministic across restarts."""
        return self._recorder.seq

    def snapshot(self) -> dict[str, Any]:
        """Everything the engine knows, as plain comparable values (a rebuilt engine gives an equal one)."""
        return self._state.snapshot() | {"sequence": self._recorder.seq}

    # --- commands ---------------------------------------------------------------------------------

    def submit(self, intent: OrderIntent) -> Order:
        """Pass ``intent`` through the gate and, if approved, into the book; return the order.

        Idempotent on ``client_order_id``: the same id with the same intent returns the existing
        order; with a different intent it raises ``DuplicateClientOrderIdError``. A refusal is not
        raised: the returned order is ``REJECTED`` with the reason (``risk: ...`` for the risk
        manager, whose journaled ``RiskRejected`` names every limit broken). Market orders fill at
        the next candle's open; limits and stops rest until a candle reaches them.
        """
        self._check_alive()
        state = self._state
        existing = state.client_ids.get(intent.client_order_id) if intent.client_order_id else None
        if existing is not None:
            order = state.orders[existing].order
            if state.requested_intent(order) == intent:
                return order
            raise DuplicateClientOrderIdError(
                f"client order id {intent.client_order_id!r} already names order {order.id} with another intent"
            )
        with self._guard:
            if intent.client_order_id is None:
                intent = replace(intent, client_order_id=self._execution.next_client_id())
            now = state.now_ms
            book = state.books.get(intent.instrument)
            mark = None if book is None or book.mark is None else Decimal(repr(book.mark))
            problem = order_problem(intent, state.instruments, mark)
            price = reference_price(intent, mark)
            if problem is not None or book is None or price is None:
                return self._execution.reject(intent, problem or "no price", now)
            totals = state.totals()
            portfolio = state.account.state(now, totals, state.positions())
            rules = self.config.anomaly
            requested, intent = intent, anomaly_adjusted(intent, portfolio, rules, anomalous=book.anomalous)
            decision = risk_decision(
                intent,
                portfolio,
                instrument=book.instrument,
                price=price,
                limits=self.config.limits,
                board=state.board,
                fees=self.config.fees,
                available=state.account.available(totals),
                anomaly=rules if book.anomalous else None,
            )
            ids = self._recorder.ids(now)
            if not decision.approved:
                self._recorder.emit(RiskRejected(ts_event=now, intent=intent, violations=decision.violations, **ids))
                return self._execution.reject(intent, "risk: " + "; ".join(decision.reasons), now)
            changed = requested.contracts if intent != requested else None
            self._recorder.emit(RiskApproved(ts_event=now, intent=intent, requested_contracts=changed, **ids))
            order = self._execution.place(intent, now)
            state.refresh()
            return order

    def cancel(self, ref: str, reason: str = "canceled by request") -> Order:
        """Cancel an open order (by order id or client order id)."""
        self._check_alive()
        order_state = self._open_state(ref)
        with self._guard:
            self._execution.cancel(order_state, reason, self._state.now_ms)
            self._state.refresh()
        return self._state.orders[order_state.order.id].order

    def amend(
        self,
        ref: str,
        *,
        contracts: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        reason: str = "amended by request",
    ) -> Order:
        """Change an open order's size or prices; raises ``AmendRejectedError`` with the reason if it cannot."""
        self._check_alive()
        order_state = self._open_state(ref)
        order = order_state.order
        instrument = self._state.instruments[order.intent.instrument]
        changes: dict[str, Any] = {} if contracts is None else {"contracts": contracts}
        for name, price in (("limit_price", limit_price), ("stop_price", stop_price)):
            if price is None:
                continue
            if getattr(order.intent, name) is None:
                raise AmendRejectedError(f"order {order.id} ({order.intent.order_type}) has no {name} to amend")
            if not (price.is_finite() and instrument.is_on_tick(price)):
                raise AmendRejectedError(f"{name} {price} is not a multiple of the tick {instrument.tick_size}")
            changes[name] = price
        try:
            intent = replace(order.intent, **changes)
        except ValueError as exc:
            raise AmendRejectedError(f"order {order.id}: {exc}") from None
        if intent.contracts <= order.filled_contracts:
            raise AmendRejectedError(
                f"order {order.id}: size {intent.contracts} must exceed the {order.filled_contracts} already filled"
            )
        with self._guard:
            self._execution.amend(order_state, intent, reason, self._state.now_ms)
            self._state.refresh()
        return self._state.orders[order.id].order

    def flatten(self, reason: str = "flatten requested") -> None:
        """Cancel every entry order and close every position at the next open (an emergency stop)."""
        self._check_alive()
        with self._guard:
            self._execution.flatten_all(reason, self._state.now_ms)
            self._state.refresh()

    def reset_breaker(self, name: str, reason: str) -> None:
        """Reset a tripped circuit breaker by hand (journaled)."""
        self._check_alive()
        tripped = self._state.board.tripped
        if name not in tripped:
            raise EngineError(f"breaker {name!r} is not tripped (tripped: {', '.join(tripped) or 'none'})")
        with self._guard:
            now = self._state.now_ms
            self._recorder.emit(
                CircuitBreakerReset(ts_event=now, breaker=name, reason=reason, **self._recorder.ids(now))
            )
            self._state.refresh()

    def trip_breaker(self, name: str, reason: str) -> None:
        """Trip a circuit breaker by hand (journaled), e.g. ``emergency_stop``; it blocks entries until reset."""
        self._check_alive()
        board = self._state.board
        if name not in board.names or name in board.tripped:
            state = "already tripped" if name in board.tripped else f"unknown (known: {', '.join(board.names)})"
            raise EngineError(f"breaker {name!r} is {state}")
        with self._guard:
            now = self._state.now_ms
            self._recorder.emit(
                CircuitBreakerTripped(ts_event=now, breaker=name, reason=reason, **self._recorder.ids(now))
            )
            self._state.refresh()

    def record(self, fact: AgentFact, **fields: Any) -> Event:
        """Journal an agent's fact (a signal, a filtered signal, a control) with this step; return it.

        Stamped like the engine's own events (deterministic id, market time), at the current market
        time; it changes nothing in the engine's state.
        """
        self._check_alive()
        now = self._state.now_ms
        event = fact(ts_event=now, **fields, **self._recorder.ids(now))
        self._recorder.emit(event)
        return event

    def report_anomaly(self, instrument: InstrumentId, *, score: float, threshold: float) -> bool:
        """The anomaly detector's verdict on ``instrument``'s last close; whether it is flagged now.

        Flagged while ``score > threshold``; a ``MarketAnomaly`` is journaled when the flag turns on
        or off (not on every candle). Meanwhile the anomaly filter (``EngineConfig.anomaly``)
        halves or blocks new exposure on the instrument.
        """
        self._check_alive()
        if not (math.isfinite(score) and math.isfinite(threshold)):
            raise EngineError(f"anomaly score {score} and threshold {threshold} must be finite")
        state = self._state
        book = state.books.get(instrument)
        if book is None:
            raise EngineError(f"unknown instrument {instrument}")
        active = score > threshold
        if active is not book.anomalous:
            with self._guard:
                now = state.now_ms
                event = MarketAnomaly(
                    ts_event=now,
                    instrument=instrument,
                    active=active,
                    score=score,
                    threshold=threshold,
                    action=self.config.anomaly.action,
                    **self._recorder.ids(now),
                )
                self._recorder.emit(event)
        return active

    def commit(self, *, checkpoint: bool = True) -> list[Event]:
        """Journal the step's events in one transaction, then announce them; return them.

        With ``checkpoint`` (the default) the step ends with an ``EquitySnapshotTaken``: the resume
        point, and what a rebuild takes the price-dependent state from. A journal failure raises
        ``JournalWriteError``: nothing is announced and the engine stops (rebuild it).
        """
        if self._failed is not None:
            self._check_alive()
        recorder = self._recorder
        if checkpoint and (self._stepped or recorder.pending):
            self._checkpoint()
        self._stepped = False
        if not recorder.pending:  # the usual backtest candle: nothing to write
            return []
        events = recorder.take()
        try:
            self._journal.append(events)
        except Exception as exc:
            self._failed = exc
            raise JournalWriteError(f"the journal refused a step of {len(events)} events: {exc}") from exc
        for publisher in self._publishers:
            publisher.publish(events)
        return events

    def _checkpoint(self) -> None:
        state = self._state
        now = state.now_ms
        marks = tuple(
            InstrumentMark(
                instrument=key, candle_ts=book.last_ts, price=Decimal(repr(book.mark)), volatility=book.volatility
            )
            for key, book in state.books.items()
            if book.last_ts is not None and book.mark is not None
        )
        event = EquitySnapshotTaken(ts_event=now, state=state.portfolio_state(), marks=marks, **self._recorder.ids(now))
        self._recorder.emit(event)

    # --- candles ----------------------------------------------------------------------------------

    def on_candle(
        self,
        instrument: InstrumentId,
        candle: Candle,
        *,
        volatility: float | None = None,
        average_volatility: float | None = None,
    ) -> None:
        """Process one closed candle of ``instrument`` (see ``matching`` for what happens in it).

        ``volatility`` is the relative volatility (e.g. ATR / close) as of this close and
        ``average_volatility`` its long-run average: the volatility breaker compares them, and
        ``volatility`` prices the slippage of fills on the next candle. Raises
        ``CandleInputError`` for impossible prices and ``StaleCandleError`` for a candle not after
        the last one processed on the instrument, changing nothing.
        """
        self.feed(instrument)(
            candle.ts, candle.open, candle.high, candle.low, candle.close, candle.volume, volatility, average_volatility
        )

    def feed(self, instrument: InstrumentId) -> BarFeed:
        """A fast callable ``(ts, open, high, low, close, volume, volatility=None, average_volatility=None)``.

        The same processing as ``on_candle``, without building a ``Candle``: for backtest loops. A
        closure rather than a bound method: the fast path is a handful of comparisons, so the
        call itself is a good part of its cost.
        """
        book = self._state.book(instrument)
        slow = self._slow_bar

        def bar(  # noqa: PLR0917 (the fast path takes a candle's fields positionally, like TA-Lib)
            ts: int,
            open_: float,
            high: float,
            low: float,
            close: float,
            volume: float,
            volatility: float | None = None,
            average_volatility: float | None = None,
        ) -> None:
            if not (0.0 < low <= open_ <= high < _INF and low <= close <= high and 0.0 <= volume < _INF):
                raise _impossible(book, ts, open_, high, low, close, volume)
            last = book.last_ts
            if last is not None and ts <= last:
                raise _stale(book, ts, last)
            if (
                ts < book.wake_ts
                and low > book.low_trigger
                and high < book.high_trigger
                and book.close_low < close < book.close_high
                and (
                    volatility is None
                    or average_volatility is None
                    or (volatility < self._vol_multiple * average_volatility) is not book.volatility_tripped
                )
                and self._failed is None
            ):
                book.last_ts, book.mark, book.volatility = ts, close, volatility
                self._stepped = True
                return
            slow(book, Candle(ts, open_, high, low, close, volume), volatility, average_volatility)

        return bar

    def feed_arrays(
        self, instrument: InstrumentId, candles: CandleArrays, wanted: npt.NDArray[np.bool_] | None = None
    ) -> Iterator[int]:
        """Process ``candles`` in order, as ``feed`` would one by one; yield the candles the caller must see.

        Yields a candle's index once it is processed, for each candle the engine had work on (the
        slow path) and each one ``wanted`` marks (e.g. the candles with a signal): act on it there
        (submit, cancel) and ``commit``, as after a ``feed`` call. The candles in between are
        skipped by a numpy scan (``candle_arrays``): they only move the marks, and there is nothing to
        commit for them, so ``commit(checkpoint=False)`` at each yield journals exactly what feeding
        candle by candle and committing each one does (with checkpoints, the skipped candles get
        none). Every candle is checked before the first is processed: an impossible or stale one
        raises ``CandleInputError`` or ``StaleCandleError`` naming it, and nothing changes.
        """
        self._check_alive()
        book = self._state.book(instrument)
        bad = candles.first_impossible()
        if bad is not None:
            raise _impossible(book, *(float(column[bad]) for column in _columns(candles)))
        stale = candles.first_not_after(book.last_ts)
        if stale is not None:
            last = book.last_ts if stale == 0 else int(candles.ts[stale - 1])
            raise _stale(book, int(candles.ts[stale]), last)
        n = len(candles)
        if wanted is None:
            marked = np.zeros(n, dtype=np.bool_)
        else:
            marked = np.ascontiguousarray(wanted, dtype=np.bool_)
            if marked.shape != (n,):
                raise EngineError(f"wanted has shape {marked.shape}; expected ({n},), one flag per candle")
        return self._feeding_arrays(book, candles, marked)

    def _feeding_arrays(
        self, book: InstrumentBook, candles: CandleArrays, wanted: npt.NDArray[np.bool_]
    ) -> Iterator[int]:
        bar, calm = self.feed(book.instrument.id), candles.calm(self._vol_multiple)
        ts, open_, high, low, close, volume = _columns(candles)
        i, n = 0, len(candles)
        while i < n:
            self._check_alive()
            busy = next_busy(
                i,
                ts,
                low,
                high,
                close,
                calm,
                wanted,
                book.wake_ts,
                book.low_trigger,
                book.high_trigger,
                book.close_low,
                book.close_high,
                int(book.volatility_tripped),
            )
            if busy > i:  # what the fast path leaves after the quiet candles i .. busy - 1
                quiet = busy - 1
                book.last_ts, book.mark = int(ts[quiet]), float(close[quiet])
                book.volatility = candles.volatility_at(quiet)
                self._stepped = True
            if busy == n:
                return
            bar(
                int(ts[busy]),
                float(open_[busy]),
                float(high[busy]),
                float(low[busy]),
                float(close[busy]),
                float(volume[busy]),
                candles.volatility_at(busy),
                candles.average_volatility_at(busy),
            )
            yield busy
            i = busy + 1

    def _slow_bar(
        self, book: InstrumentBook, candle: Candle, volatility: float | None, average_volatility: float | None
    ) -> None:
        """A candle the fast path cannot rule out: the whole matching (``matching``), then new thresholds."""
        self._check_alive()
        with self._guard:
            self._matcher.process(book, candle, volatility, average_volatility)
            self._stepped = True
            self._state.refresh()

    # --- helpers ----------------------------------------------------------------------------------

    def _open_state(self, ref: str) -> OrderState:
        order_state = self._state.lookup(ref)
        if order_state.order.status.is_terminal:
            order = order_state.order
            raise OrderNotOpenError(f"order {order.id} is {order.status}: it can no longer change")
        return order_state

    def _check_alive(self) -> None:
        if self._failed is not None:
            raise EngineFailedError(f"the engine stopped after a failure ({self._failed}); rebuild it from the journal")


def _columns(candles: CandleArrays) -> tuple[Any, ...]:
    """The arrays in ``feed``'s argument order: ts, open, high, low, close, volume."""
    return candles.ts, candles.open, candles.high, candles.low, candles.close, candles.volume


def _impossible(  # noqa: PLR0917 (a candle's fields, in feed's order)
    book: InstrumentBook, ts: float, open_: float, high: float, low: float, close: float, volume: float
) -> CandleInputError:
    return CandleInputError(
        f"{book.instrument.id} candle at {int(ts)}: impossible prices or volume "
        f"(open {open_}, high {high}, low {low}, close {close}, volume {volume})"
    )


def _stale(book: InstrumentBook, ts: int, last: int | None) -> StaleCandleError:
    return StaleCandleError(f"{book.instrument.id} candle at {ts} is not after the last one processed ({last})")
