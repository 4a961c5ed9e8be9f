"""Properties of the engine over random sessions (hypothesis), each checked by an independent ledger.

A session is a random walk of candles (gaps, wide and narrow ranges, off-tick prices) with random
orders in between (market, limit, stop, stop-limit, with and without exits, reduce-only exits,
cancels, amends; several leverages), funding at a random rate, trailing and time exits on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.testkit.engine import H, buy, config, fast_path_off, of_type, sell
from tests.testkit.instruments import BTCUSD_ID, btcusd
from trading_agent.domain import (
    Candle,
    Event,
    FundingApplied,
    Liquidity,
    Order,
    OrderFilled,
    OrderIntent,
    OrderRole,
    OrderStatus,
    OrderType,
    PortfolioState,
    PositionClosed,
    PositionLiquidated,
    PositionSide,
    RiskApproved,
    Side,
    Trade,
)
from trading_agent.engine.candle_arrays import CandleArrays
from trading_agent.engine.engine import TradingEngine
from trading_agent.engine.exits import ExitRules
from trading_agent.engine.journal import MemoryJournal
from trading_agent.risk.breakers import BreakerRules
from trading_agent.risk.limits import RiskLimits, signed_contracts

D = Decimal
BTC = btcusd()
CV = BTC.contract_value
TOLERANCE = D("1e-12")  # averaged entries are Decimal quotients (28 digits): sums agree to far below a cent
AVERAGE_VOLATILITY = 0.012
LIMITS = RiskLimits(max_position_fraction=0.9, max_leverage=10, max_trades_per_day=1000, min_time_between_trades_s=0)


@dataclass(frozen=True)
class Move:
    gap: float
    change: float
    up_wick: float
    down_wick: float
    volume: float


@dataclass(frozen=True)
class Action:
    kind: str
    side: Side
    contracts: int
    offset: float
    leverage: int
    exits: bool
    good_for: int | None  # a resting order's life in candles (None: good till canceled)


_moves = st.builds(
    Move,
    gap=st.floats(-0.01, 0.01),
    change=st.one_of(st.floats(-0.03, 0.03), st.floats(-0.15, 0.15)),
    up_wick=st.floats(0, 0.02),
    down_wick=st.floats(0, 0.02),
    volume=st.floats(0, 5000),
)
_actions = st.builds(
    Action,
    kind=st.sampled_from(["none", "none", "market", "limit", "stop", "stop_limit", "exit", "cancel", "amend"]),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    contracts=st.integers(1, 60),
    offset=st.floats(0.001, 0.03),
    leverage=st.sampled_from([1, 3, 10]),
    exits=st.booleans(),
    good_for=st.sampled_from([None, None, 1, 3]),
)
_exits = st.builds(
    ExitRules,
    trailing_enabled=st.booleans(),
    trailing_activation_percent=st.just(1.0),
    trailing_percent=st.just(0.7),
    max_holding_period_s=st.sampled_from([2 * 3600, 5 * 3600, 12 * 3600]),
)
_breakers = st.sampled_from(
    [
        None,  # the test engine's: the losing streak and rapid fire out of reach
        BreakerRules(  # breakers that trip, and reset by the clock three hours on
            max_consecutive_losses=2, max_drawdown_percent=4.0, rapid_fire_max_trades=1000, auto_reset_after_s=3 * 3600
        ),
    ]
)
_sessions = st.tuples(
    st.lists(st.tuples(_moves, _actions), min_size=5, max_size=45),
    st.sampled_from([D(0), D("0.0001"), D("-0.0003"), D("0.002")]),
    _exits,
    _breakers,
)
Session = tuple[list[tuple[Move, Action]], Decimal, ExitRules, BreakerRules | None]


def _candles(moves: list[Move]) -> list[Candle]:
    candles, previous = [], 60000.0
    for index, move in enumerate(moves):
        open_ = round(previous * (1 + move.gap), 1)
        close = round(open_ * (1 + move.change), 1)
        high = round(max(open_, close) * (1 + move.up_wick), 1)
        low = round(min(open_, close) * (1 - move.down_wick), 1)
        candles.append(Candle(index * H, open_, high, low, close, round(move.volume, 3)))
        previous = close
    return candles


def _volatility(bar: Candle) -> float:
    """The candle's own range as its relative volatility (the breaker trips at 3 x the average)."""
    return (bar.high - bar.low) / bar.open


def _intent(action: Action, engine: TradingEngine, bar: Candle) -> OrderIntent | None:
    make = buy if action.side is Side.BUY else sell
    price = bar.close
    below, above = (1 - action.offset), (1 + action.offset)
    tick = BTC.round_price
    exits = {"stop_distance": tick(D(repr(price * action.offset * 2)))} if action.exits else {}
    lever = {"leverage": D(action.leverage)}
    good_till = None if action.good_for is None else bar.ts + (action.good_for + 1) * H  # resting orders only
    match action.kind:
        case "market":
            return make(action.contracts, **lever, **exits)
        case "limit":
            level = tick(D(repr(price * (below if action.side is Side.BUY else above))))
            return make(
                action.contracts, order_type=OrderType.LIMIT, limit_price=level, expire_ts=good_till, **lever, **exits
            )
        case "stop" | "stop_limit":
            level = tick(D(repr(price * (above if action.side is Side.BUY else below))))
            if action.kind == "stop":
                return make(
                    action.contracts, order_type=OrderType.STOP_MARKET, stop_price=level, expire_ts=good_till, **lever
                )
            return make(
                action.contracts,
                order_type=OrderType.STOP_LIMIT,
                stop_price=level,
                limit_price=level,
                expire_ts=good_till,
                **lever,
            )
        case "exit":
            position = engine.position(BTCUSD_ID)
            if position is None:
                return None
            side = Side.SELL if position.side.value == "long" else Side.BUY
            contracts = min(action.contracts, position.contracts)
            return OrderIntent(
                instrument=BTCUSD_ID, side=side, contracts=contracts, reduce_only=True, role=OrderRole.EXIT
            )
    return None


def _act(engine: TradingEngine, action: Action, bar: Candle) -> tuple[Order, PortfolioState] | None:
    entries = [o for o in engine.open_orders() if not o.intent.role.is_protective]
    if action.kind == "cancel":
        if entries:
            engine.cancel(entries[action.contracts % len(entries)].id)
        return None
    if action.kind == "amend":
        if entries:
            engine.amend(entries[action.contracts % len(entries)].id, contracts=entries[0].intent.contracts + 1)
        return None
    intent = _intent(action, engine, bar)
    if intent is None:
        return None
    before = engine.portfolio_state()
    return engine.submit(intent), before


def _engine(
    funding_rate: Decimal, exits: ExitRules, breakers: BreakerRules | None
) -> tuple[TradingEngine, MemoryJournal]:
    journal = MemoryJournal()
    rules = {} if breakers is None else {"breakers": breakers}
    engine = TradingEngine(
        config(limits=LIMITS, exits=exits, default_funding_rate=funding_rate, **rules), [BTC], journal=journal
    )
    return engine, journal


def _run(
    moves_and_actions: list[tuple[Move, Action]],
    funding_rate: Decimal,
    exits: ExitRules,
    breakers: BreakerRules | None = None,
    *,
    checkpoint: bool = True,
) -> tuple[TradingEngine, MemoryJournal, list[Candle], list[tuple[Order, PortfolioState]]]:
    engine, journal = _engine(funding_rate, exits, breakers)
    candles = _candles([move for move, _ in moves_and_actions])
    submitted = []
    for bar, (_, action) in zip(candles, moves_and_actions, strict=True):
        engine.on_candle(BTCUSD_ID, bar, volatility=_volatility(bar), average_volatility=AVERAGE_VOLATILITY)
        made = _act(engine, action, bar)
        if made is not None:
            submitted.append(made)
        engine.commit(checkpoint=checkpoint)
    return engine, journal, candles, submitted


class _Ledger:
    """An independent account: cash flows of fills, fees and funding, with no averaging at all."""

    def __init__(self) -> None:
        self.contracts = 0
        self.cash_flow = D(0)
        self.fees = D(0)
        self.funding = D(0)
        self.trip = D(0)
        self.trips: list[Decimal] = []

    def fill(self, side: Side, contracts: int, price: Decimal, fee: Decimal) -> None:
        signed = side.sign * contracts
        after = self.contracts + signed
        self.fees += fee
        self.cash_flow -= signed * CV * price
        closing = 0 if self.contracts * signed >= 0 else min(contracts, abs(self.contracts))
        close_fee = fee if closing == contracts else fee * closing / contracts
        self.trip -= side.sign * closing * CV * price + close_fee
        if self.contracts != 0 and (after == 0 or after * self.contracts < 0):
            self.trips.append(self.trip)
            self.trip = D(0)
        opening = contracts - closing
        if opening:
            self.trip -= side.sign * opening * CV * price + (fee - close_fee)
        self.contracts = after

    def pay_funding(self, amount: Decimal) -> None:
        self.funding += amount
        self.trip -= amount


def _replay_ledger(events: list[Event]) -> _Ledger:
    ledger = _Ledger()
    for event in events:
        if isinstance(event, OrderFilled):
            fill = event.fill
            ledger.fill(fill.side, fill.contracts, fill.price, fill.fee)
        elif isinstance(event, FundingApplied):
            ledger.pay_funding(event.amount)
    return ledger


def _trades(events: list[Event]) -> list[Trade]:
    return [e.trade for e in events if isinstance(e, PositionClosed | PositionLiquidated)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions)
def test_the_books_balance_against_an_independent_ledger(session: Session) -> None:
    engine, journal, candles, _ = _run(*session)
    ledger = _replay_ledger(journal.events)
    state = engine.portfolio_state()
    mark = D(repr(candles[-1].close))
    independent = D(10000) + ledger.cash_flow + ledger.contracts * CV * mark - ledger.fees - ledger.funding
    assert state.equity == state.cash + state.unrealized_pnl - state.fees - state.funding
    assert abs(state.equity - independent) < TOLERANCE
    assert (state.fees, state.funding) == (ledger.fees, ledger.funding)
    position = engine.position(BTCUSD_ID)
    held = 0 if position is None else position.contracts * (1 if position.side is PositionSide.LONG else -1)
    assert ledger.contracts == held
    trades = _trades(journal.events)
    assert len(trades) == len(ledger.trips)
    for trade, trip in zip(trades, ledger.trips, strict=True):  # a closed position's PnL is the sum of its fills
        assert abs(trade.pnl - trip) < TOLERANCE


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions)
def test_fills_stay_in_the_candle_on_the_tick_and_always_pay_a_fee(
    session: Session,
) -> None:
    _, journal, candles, _ = _run(*session)
    by_ts = {bar.ts: bar for bar in candles}
    for event in of_type(journal.events, OrderFilled):
        fill = event.fill
        assert BTC.is_on_tick(fill.price) and fill.contracts > 0
        if event.order.intent.role is OrderRole.LIQUIDATION:
            assert fill.fee == 0  # liquidation transfers the position at its bankruptcy price, no fee
            continue
        bar = by_ts[fill.ts]
        low, high = (BTC.round_price(D(repr(p))) for p in (bar.low, bar.high))
        assert low <= fill.price <= high
        assert fill.fee > 0
        assert fill.liquidity in (Liquidity.MAKER, Liquidity.TAKER)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions)
def test_no_approved_order_breaks_the_position_and_leverage_limits(
    session: Session,
) -> None:
    _, journal, candles, submitted = _run(*session)
    approved = {event.intent.client_order_id for event in of_type(journal.events, RiskApproved)}
    closes = {bar.ts + H: D(repr(bar.close)) for bar in candles}
    for order, before in submitted:
        intent = order.intent
        assert (order.status is not OrderStatus.REJECTED) == (intent.client_order_id in approved)
        if order.status is OrderStatus.REJECTED or intent.reduce_only:
            continue
        price = intent.limit_price or intent.stop_price or closes[before.ts]
        resulting = abs(signed_contracts(before, BTCUSD_ID) + intent.side.sign * intent.contracts)
        assert resulting * CV * price <= before.equity * D(repr(LIMITS.max_position_fraction))
        assert intent.leverage <= D(repr(LIMITS.max_leverage))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions)
def test_the_fast_path_changes_nothing(session: Session) -> None:
    fast, fast_journal, _, _ = _run(*session)
    with fast_path_off():
        slow, slow_journal, _, _ = _run(*session)
    assert fast_journal.events == slow_journal.events
    assert fast.snapshot() == slow.snapshot()


def _fed_arrays(
    moves_and_actions: list[tuple[Move, Action]], funding_rate: Decimal, exits: ExitRules, breakers: BreakerRules | None
) -> tuple[TradingEngine, MemoryJournal]:
    """``_run`` through ``TradingEngine.feed_arrays``: the candles as arrays, acting only where an action is."""
    engine, journal = _engine(funding_rate, exits, breakers)
    bars = _candles([move for move, _ in moves_and_actions])
    columns = ([getattr(bar, name) for bar in bars] for name in ("ts", "open", "high", "low", "close", "volume"))
    candles = CandleArrays(*columns, [_volatility(bar) for bar in bars], [AVERAGE_VOLATILITY] * len(bars))
    wanted = np.array([action.kind != "none" for _, action in moves_and_actions])
    for i in engine.feed_arrays(BTCUSD_ID, candles, wanted):
        _act(engine, moves_and_actions[i][1], bars[i])
        engine.commit(checkpoint=False)
    return engine, journal


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions)
def test_feeding_arrays_journals_what_feeding_candle_by_candle_does(session: Session) -> None:
    fed, fed_journal, _, _ = _run(*session, checkpoint=False)
    batch, arrays_journal = _fed_arrays(*session)
    assert arrays_journal.events == fed_journal.events
    assert batch.snapshot() == fed.snapshot()  # the peak and the marks too, which the journal may not show


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sessions, st.integers(0, 44))
def test_an_engine_rebuilt_at_any_step_is_the_same_engine(session: Session, cut: int) -> None:
    steps, rate, exits, breakers = session
    cut = min(cut, len(steps) - 1)
    whole, whole_journal, _, _ = _run(steps, rate, exits, breakers)
    part, part_journal, _, _ = _run(steps[:cut], rate, exits, breakers)
    rebuilt = TradingEngine.rebuild(part.config, [BTC], journal=part_journal)
    assert rebuilt.snapshot() == part.snapshot()
    for bar, (_, action) in list(zip(_candles([m for m, _ in steps]), steps, strict=True))[cut:]:
        rebuilt.on_candle(BTCUSD_ID, bar, volatility=_volatility(bar), average_volatility=AVERAGE_VOLATILITY)
        _act(rebuilt, action, bar)
        rebuilt.commit()
    assert part_journal.events == whole_journal.events
    assert rebuilt.snapshot() == whole.snapshot()
