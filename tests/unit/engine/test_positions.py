from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.testkit.instruments import btcusd
from trading_agent.domain import (
    Event,
    Fill,
    InstrumentId,
    Liquidity,
    OrderId,
    PositionChanged,
    PositionClosed,
    PositionOpened,
    PositionSide,
    Side,
    Trade,
    TradeId,
)
from trading_agent.engine.errors import EngineError
from trading_agent.engine.margin import liquidation_price_for_margin
from trading_agent.engine.positions import (
    DuplicateFillError,
    FillMismatchError,
    NoPositionError,
    PositionState,
    apply_fill,
    apply_funding,
)

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
BTC_ID = InstrumentId("delta_india", "BTCUSD")
BTC = btcusd()
LEV = D(10)


def _fill(n: int, side: Side, contracts: int, price: str | Decimal, fee: str | Decimal = "0") -> Fill:
    return Fill(
        trade_id=TradeId(f"t-{n}"),
        order_id=OrderId(f"o-{n}"),
        instrument=BTC_ID,
        side=side,
        contracts=contracts,
        price=D(price),
        fee=D(fee),
        liquidity=Liquidity.TAKER,
        ts=n,
    )


def _apply(state: PositionState, fill: Fill) -> tuple[PositionState, tuple[Event, ...]]:
    return apply_fill(state, fill, BTC, leverage=LEV, ts=fill.ts)


def test_open_by_hand() -> None:
    state, events = _apply(PositionState(instrument=BTC_ID), _fill(1, BUY, 100, "60000", "3"))
    position = state.position
    assert position is not None and isinstance(events[0], PositionOpened) and len(events) == 1
    assert (position.side, position.contracts, position.entry_price) == (PositionSide.LONG, 100, D(60000))
    assert position.margin == D(600)  # 100 x 0.001 x 60,000 / 10
    assert position.liquidation_price == liquidation_price_for_margin(PositionSide.LONG, 100, D(60000), D(600), BTC)
    assert (position.fees, state.fees, state.realized_pnl, state.trade_ids) == (D(3), D(3), D(0), {"t-1"})


def test_open_add_reduce_fund_close_by_hand() -> None:
    state = PositionState(instrument=BTC_ID)
    state, _ = _apply(state, _fill(1, BUY, 100, "60000", "3"))
    state, events = _apply(state, _fill(2, BUY, 100, "62000", "3.1"))
    assert isinstance(events[0], PositionChanged)
    position = state.position
    assert position is not None
    assert (position.contracts, position.entry_price, position.margin) == (200, D(61000), D(1220))

    state, events = _apply(state, _fill(3, SELL, 50, "63000", "1.575"))
    position = state.position
    assert position is not None and isinstance(events[0], PositionChanged)
    # 50 x 0.001 x (63,000 - 61,000) = 100; a quarter of the margin is released
    assert (position.contracts, position.entry_price, position.margin) == (150, D(61000), D(915))
    assert (position.realized_pnl, state.realized_pnl) == (D(100), D(100))

    state = apply_funding(state, D(2), BTC)
    state, events = _apply(state, _fill(4, SELL, 150, "60000", "4.5"))
    assert state.position is None and len(events) == 1 and isinstance(events[0], PositionClosed)
    trade = events[0].trade
    # realised 100 + 150 x 0.001 x (60,000 - 61,000) = -50; fees 12.175; funding 2
    assert state.realized_pnl == D(-50)
    assert (trade.fees, trade.funding, state.fees, state.funding) == (D("12.175"), D(2), D("12.175"), D(2))
    assert trade.pnl == D("-64.175") == state.realized_pnl - state.fees - state.funding
    assert (trade.side, trade.contracts, trade.entry_price) == (PositionSide.LONG, 200, D(61000))
    assert trade.exit_price == D(60750)  # (50 x 63,000 + 150 x 60,000) / 200
    assert trade.pnl_percent == D("-64.175") / D(1220) * 100
    assert (trade.id, trade.ts_opened, trade.ts_closed) == ("t-4", 1, 4)


def test_short_round_trip_by_hand() -> None:
    state, _ = _apply(PositionState(instrument=BTC_ID), _fill(1, SELL, 20, "50000", "0.5"))
    assert state.position is not None and state.position.side is PositionSide.SHORT
    state = apply_funding(state, D("-0.25"), BTC)  # received
    state, (closed,) = _apply(state, _fill(2, BUY, 20, "49000", "0.49"))
    assert isinstance(closed, PositionClosed)
    # 20 x 0.001 x (50,000 - 49,000) = 20; - 0.99 fees + 0.25 funding received
    assert closed.trade.pnl == D("19.26")


def test_flip_closes_then_opens_the_remainder() -> None:
    state, _ = _apply(PositionState(instrument=BTC_ID), _fill(1, BUY, 10, "60000", "0.3"))
    state, events = _apply(state, _fill(2, SELL, 30, "61000", "0.9"))
    assert [type(e) for e in events] == [PositionClosed, PositionOpened]
    closed, opened = events
    assert isinstance(closed, PositionClosed) and isinstance(opened, PositionOpened)
    # 10 x 0.001 x 1,000 = 10; fees 0.3 + a third of 0.9
    assert (closed.trade.pnl, closed.trade.fees, closed.trade.contracts) == (D("9.4"), D("0.6"), 10)
    new = opened.position
    assert (new.side, new.contracts, new.entry_price, new.fees, new.margin) == (
        PositionSide.SHORT,
        20,
        D(61000),
        D("0.6"),
        D(122),
    )
    assert state.position == new and state.fees == D("1.2") and state.realized_pnl == D(10)


def test_repeated_trade_id_is_refused_and_state_is_unchanged() -> None:
    fill = _fill(1, BUY, 10, "60000", "0.3")
    state, _ = _apply(PositionState(instrument=BTC_ID), fill)
    with pytest.raises(DuplicateFillError, match="t-1"):
        _apply(state, fill)
    assert state.position is not None and state.position.contracts == 10


def test_fill_of_another_instrument_is_refused() -> None:
    other = PositionState(instrument=InstrumentId("delta_india", "ETHUSD"))
    with pytest.raises(FillMismatchError):
        _apply(other, _fill(1, BUY, 1, "60000"))


def test_funding_when_flat_is_refused() -> None:
    with pytest.raises(NoPositionError):
        apply_funding(PositionState(instrument=BTC_ID), D(1), BTC)
    assert issubclass(NoPositionError, EngineError) and issubclass(DuplicateFillError, EngineError)


# --- properties ---------------------------------------------------------------------------------

_steps = st.lists(
    st.tuples(
        st.sampled_from([BUY, SELL]),
        st.integers(1, 50),
        st.integers(20_000, 80_000).map(lambda p: D(p) / 2),  # on the 0.5 tick
        st.integers(0, 500).map(lambda f: D(f) / 100),
        st.one_of(st.none(), st.integers(-300, 300).map(lambda f: D(f) / 100)),
    ),
    min_size=1,
    max_size=25,
)


Step = tuple[Side, int, Decimal, Decimal, Decimal | None]


def _run(steps: list[Step], *, repeat: int | None = None) -> tuple[PositionState, list[Trade], list[Fill]]:
    """Apply ``steps``, then close what is left; with ``repeat``, re-apply each fill ``repeat`` fills later."""
    state = PositionState(instrument=BTC_ID)
    trades: list[Trade] = []
    fills: list[Fill] = []
    for n, (side, contracts, price, fee, funding) in enumerate(steps, start=1):
        fill = _fill(n, side, contracts, price, fee)
        fills.append(fill)
        state, events = _apply(state, fill)
        trades += [e.trade for e in events if isinstance(e, PositionClosed)]
        if repeat is not None and len(fills) > repeat and fills[-1 - repeat].trade_id in state.trade_ids:
            with pytest.raises(DuplicateFillError):  # a fill of the open position, applied again
                _apply(state, fills[-1 - repeat])
        if funding is not None and state.position is not None:
            state = apply_funding(state, funding, BTC)
    position = state.position
    if position is not None:  # end flat
        side = SELL if position.side is PositionSide.LONG else BUY
        fill = _fill(len(steps) + 1, side, position.contracts, D(50000), D(1))
        fills.append(fill)
        state, events = _apply(state, fill)
        trades += [e.trade for e in events if isinstance(e, PositionClosed)]
    return state, trades, fills


@given(_steps)
def test_trades_add_up_to_realised_pnl_minus_fees_minus_funding(steps: list[Step]) -> None:
    state, trades, _ = _run(steps)
    assert state.position is None
    total = sum((t.pnl for t in trades), D(0))
    # Decimal arithmetic with 28 digits: the two sums round in a different order
    tolerance = D("1e-12")
    assert abs(total - (state.realized_pnl - state.fees - state.funding)) < tolerance
    assert abs(sum((t.fees for t in trades), D(0)) - state.fees) < tolerance
    assert sum((t.funding for t in trades), D(0)) == state.funding


@given(_steps, st.integers(0, 5))
def test_applying_a_fill_twice_changes_state_once(steps: list[Step], lag: int) -> None:
    state, trades, _ = _run(steps)
    replayed, replayed_trades, _ = _run(steps, repeat=lag)
    assert replayed == state
    assert [t.pnl for t in replayed_trades] == [t.pnl for t in trades]
    assert state.trade_ids == frozenset()  # flat: nothing to remember (the engine refuses repeats for life)
