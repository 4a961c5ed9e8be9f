from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.testkit.instruments import btcusd, tiered_btcusd
from trading_agent.domain import (
    Candle,
    DomainError,
    InstrumentId,
    Liquidity,
    OrderIntent,
    OrderType,
    Side,
)
from trading_agent.engine.costs import SlippageModel
from trading_agent.engine.fills import FillDecision, FillReason, resolve_intrabar, simulate_fill

ID = InstrumentId("delta_india", "BTCUSD")
BTCUSD = btcusd()
TEN_BPS = SlippageModel(fixed_bps=10, impact_coefficient=0)  # 0.1% adverse, no impact
CANDLE = Candle(ts=0, open=60_000.0, high=60_300.0, low=59_700.0, close=60_100.0, volume=100.0)


def _order(
    side: Side, order_type: OrderType = OrderType.MARKET, limit: str | None = None, stop: str | None = None
) -> OrderIntent:
    return OrderIntent(
        instrument=ID,
        side=side,
        contracts=10,
        order_type=order_type,
        limit_price=None if limit is None else Decimal(limit),
        stop_price=None if stop is None else Decimal(stop),
    )


def _fill(order: OrderIntent, candle: Candle = CANDLE, max_slippage_percent: Decimal | None = None) -> FillDecision:
    return simulate_fill(order, candle, BTCUSD, TEN_BPS, max_slippage_percent=max_slippage_percent)


def _assert_filled(decision: FillDecision, price: str, liquidity: Liquidity, reason: FillReason) -> None:
    assert decision.filled
    assert (decision.price, decision.liquidity, decision.reason) == (Decimal(price), liquidity, reason)


# --- market ---------------------------------------------------------------------------------------


def test_market_fills_at_open_plus_slippage() -> None:
    _assert_filled(_fill(_order(Side.BUY)), "60060", Liquidity.TAKER, FillReason.MARKET_AT_OPEN)
    _assert_filled(_fill(_order(Side.SELL)), "59940", Liquidity.TAKER, FillReason.MARKET_AT_OPEN)


def test_market_slippage_rounds_adversely_to_the_tick() -> None:
    candle = Candle(ts=0, open=60_000.5, high=60_300.0, low=59_700.0, close=60_100.0, volume=100.0)
    # 60000.5 x 1.001 = 60060.5005 -> up to 60061.0; x 0.999 = 59940.4995 -> down to 59940.0
    assert _fill(_order(Side.BUY), candle).price == Decimal("60061.0")
    assert _fill(_order(Side.SELL), candle).price == Decimal("59940.0")


def test_market_slippage_is_clipped_to_the_candle_range() -> None:
    tight = Candle(ts=0, open=60_000.0, high=60_010.0, low=59_990.0, close=60_000.0, volume=100.0)
    assert _fill(_order(Side.BUY), tight).price == Decimal(60_010)
    assert _fill(_order(Side.SELL), tight).price == Decimal(59_990)


def test_the_price_band_bounds_a_taker_fill_around_its_reference() -> None:
    wide = Candle(ts=0, open=60_000.5, high=63_000.0, low=57_000.0, close=60_000.0, volume=100.0)
    slip_3pct = SlippageModel(fixed_bps=300, impact_coefficient=0, max_slippage_bps=500)
    flat, banded = btcusd(), tiered_btcusd()  # the band: ±2.5%
    buy, sell = _order(Side.BUY), _order(Side.SELL)
    # without the band: 60,000.5 x 1.03 = 61,800.515 -> 61,801.0; x 0.97 = 58,200.485 -> 58,200.0
    assert simulate_fill(buy, wide, flat, slip_3pct).price == Decimal("61801.0")
    assert simulate_fill(sell, wide, flat, slip_3pct).price == Decimal("58200.0")
    # with it: 60,000.5 x 1.025 = 61,500.5125 -> down to 61,500.5; x 0.975 = 58,500.4875 -> up to 58,500.5
    assert simulate_fill(buy, wide, banded, slip_3pct).price == Decimal("61500.5")
    assert simulate_fill(sell, wide, banded, slip_3pct).price == Decimal("58500.5")
    # a stop's reference is its trigger: a sell stop at 59,000 fills no lower than 57,525
    stop = _order(Side.SELL, OrderType.STOP_MARKET, stop="59000")
    assert simulate_fill(stop, wide, banded, slip_3pct).price == Decimal("57525.0")
    # inside the band nothing changes
    assert simulate_fill(buy, wide, banded, TEN_BPS).price == simulate_fill(buy, wide, flat, TEN_BPS).price


# --- limit ----------------------------------------------------------------------------------------


def test_limit_fills_at_limit_as_maker_when_touched() -> None:
    _assert_filled(
        _fill(_order(Side.BUY, OrderType.LIMIT, "59800")), "59800", Liquidity.MAKER, FillReason.LIMIT_TOUCHED
    )
    _assert_filled(
        _fill(_order(Side.SELL, OrderType.LIMIT, "60300")), "60300", Liquidity.MAKER, FillReason.LIMIT_TOUCHED
    )


def test_limit_not_touched_does_not_fill() -> None:
    for order in (_order(Side.BUY, OrderType.LIMIT, "59650"), _order(Side.SELL, OrderType.LIMIT, "60350")):
        decision = _fill(order)
        assert not decision.filled
        assert not decision.refused
        assert decision.reason is FillReason.LIMIT_NOT_TOUCHED


def test_marketable_limit_fills_at_open_as_taker_never_worse_than_limit() -> None:
    reason = FillReason.LIMIT_MARKETABLE_AT_OPEN
    _assert_filled(_fill(_order(Side.BUY, OrderType.LIMIT, "60100")), "60060", Liquidity.TAKER, reason)
    _assert_filled(_fill(_order(Side.BUY, OrderType.LIMIT, "60020")), "60020", Liquidity.TAKER, reason)
    _assert_filled(_fill(_order(Side.SELL, OrderType.LIMIT, "59980")), "59980", Liquidity.TAKER, reason)


# --- stop-market ----------------------------------------------------------------------------------


def test_stop_market_triggers_and_fills_at_stop_plus_slippage() -> None:
    # buy stop 60200 x 1.001 = 60260.2 -> 60260.5; sell stop 59800 x 0.999 = 59740.2 -> 59740.0
    buy = _fill(_order(Side.BUY, OrderType.STOP_MARKET, stop="60200"))
    _assert_filled(buy, "60260.5", Liquidity.TAKER, FillReason.STOP_TRIGGERED)
    assert buy.reference_price == Decimal(60_200)
    sell = _fill(_order(Side.SELL, OrderType.STOP_MARKET, stop="59800"))
    _assert_filled(sell, "59740.0", Liquidity.TAKER, FillReason.STOP_TRIGGERED)


def test_stop_market_gapped_through_fills_at_open() -> None:
    sell = _fill(_order(Side.SELL, OrderType.STOP_MARKET, stop="60500"))  # open 60000 already below the stop
    _assert_filled(sell, "59940", Liquidity.TAKER, FillReason.STOP_GAPPED)
    assert sell.reference_price == Decimal(60_000)
    buy = _fill(_order(Side.BUY, OrderType.STOP_MARKET, stop="59500"))
    _assert_filled(buy, "60060", Liquidity.TAKER, FillReason.STOP_GAPPED)


def test_stop_market_not_triggered() -> None:
    decision = _fill(_order(Side.SELL, OrderType.STOP_MARKET, stop="59600"))
    assert (decision.filled, decision.triggered, decision.reason) == (False, False, FillReason.STOP_NOT_TRIGGERED)


# --- stop-limit -----------------------------------------------------------------------------------


def test_stop_limit_marketable_at_trigger_fills_as_taker_capped_at_limit() -> None:
    reason = FillReason.STOP_LIMIT_MARKETABLE
    _assert_filled(_fill(_order(Side.BUY, OrderType.STOP_LIMIT, "60300", "60200")), "60260.5", Liquidity.TAKER, reason)
    _assert_filled(_fill(_order(Side.BUY, OrderType.STOP_LIMIT, "60250", "60200")), "60250", Liquidity.TAKER, reason)


def test_stop_limit_with_limit_beyond_trigger_rests_when_triggered_intrabar() -> None:
    decision = _fill(_order(Side.BUY, OrderType.STOP_LIMIT, "60100", "60200"))
    assert not decision.filled
    assert decision.triggered
    assert decision.reason is FillReason.STOP_LIMIT_RESTING


def test_stop_limit_gapped_behaves_as_limit_on_the_whole_candle() -> None:
    # sell stop 60500 gapped (open 60000); limit 59800 is marketable at the open
    marketable = _fill(_order(Side.SELL, OrderType.STOP_LIMIT, "59800", "60500"))
    _assert_filled(marketable, "59940", Liquidity.TAKER, FillReason.STOP_LIMIT_MARKETABLE)
    # limit 60200 is above the open, and the high 60300 reaches it after the trigger
    resting = _fill(_order(Side.SELL, OrderType.STOP_LIMIT, "60200", "60500"))
    _assert_filled(resting, "60200", Liquidity.MAKER, FillReason.LIMIT_TOUCHED)
    never = _fill(_order(Side.SELL, OrderType.STOP_LIMIT, "60400", "60500"))
    assert (never.filled, never.triggered) == (False, True)


def test_stop_limit_not_triggered() -> None:
    decision = _fill(_order(Side.BUY, OrderType.STOP_LIMIT, "60500", "60400"))
    assert (decision.filled, decision.reason) == (False, FillReason.STOP_NOT_TRIGGERED)


# --- guards ---------------------------------------------------------------------------------------


def test_max_slippage_refuses_a_worse_fill_with_a_reason() -> None:
    refused = _fill(_order(Side.BUY), max_slippage_percent=Decimal("0.05"))
    assert (refused.filled, refused.refused, refused.reason) == (False, True, FillReason.SLIPPAGE_EXCEEDED)
    assert "0.1000% worse than reference 60000" in refused.detail
    # exactly at the limit (0.1%) is allowed; a maker fill never slips
    assert _fill(_order(Side.BUY), max_slippage_percent=Decimal("0.1")).filled
    assert _fill(_order(Side.BUY, OrderType.LIMIT, "59800"), max_slippage_percent=Decimal(0)).filled


def test_refused_stop_is_marked_triggered() -> None:
    decision = _fill(_order(Side.SELL, OrderType.STOP_MARKET, stop="59800"), max_slippage_percent=Decimal("0.01"))
    assert (decision.refused, decision.triggered) == (True, True)


def test_off_tick_order_price_is_refused() -> None:
    decision = _fill(_order(Side.BUY, OrderType.LIMIT, "59800.25"))
    assert (decision.filled, decision.refused, decision.reason) == (False, True, FillReason.PRICE_OFF_TICK)
    assert "limit_price 59800.25" in decision.detail


def test_fill_decision_invariants() -> None:
    with pytest.raises(DomainError):
        FillDecision(filled=True, price=None, liquidity=None, reason=FillReason.MARKET_AT_OPEN)
    with pytest.raises(DomainError):
        FillDecision(filled=False, price=Decimal(1), liquidity=Liquidity.TAKER, reason=FillReason.MARKET_AT_OPEN)


# --- intrabar -------------------------------------------------------------------------------------


def test_intrabar_both_exits_touched_takes_the_worse_for_a_long() -> None:
    stop_loss = _fill(_order(Side.SELL, OrderType.STOP_MARKET, stop="59800"))
    take_profit = _fill(_order(Side.SELL, OrderType.LIMIT, "60200"))
    assert stop_loss.filled and take_profit.filled
    chosen = resolve_intrabar(Side.SELL, {"take_profit": take_profit, "stop_loss": stop_loss})
    assert chosen == ("stop_loss", stop_loss)


def test_intrabar_both_exits_touched_takes_the_worse_for_a_short() -> None:
    stop_loss = _fill(_order(Side.BUY, OrderType.STOP_MARKET, stop="60200"))
    take_profit = _fill(_order(Side.BUY, OrderType.LIMIT, "59800"))
    assert resolve_intrabar(Side.BUY, {"tp": take_profit, "sl": stop_loss}) == ("sl", stop_loss)


def test_intrabar_single_or_no_exit() -> None:
    take_profit = _fill(_order(Side.SELL, OrderType.LIMIT, "60200"))
    untouched = _fill(_order(Side.SELL, OrderType.STOP_MARKET, stop="59000"))
    assert resolve_intrabar(Side.SELL, {"tp": take_profit, "sl": untouched}) == ("tp", take_profit)
    assert resolve_intrabar(Side.SELL, {"sl": untouched}) is None


def test_intrabar_price_tie_prefers_the_taker() -> None:
    maker = FillDecision(filled=True, price=Decimal(100), liquidity=Liquidity.MAKER, reason=FillReason.LIMIT_TOUCHED)
    taker = FillDecision(filled=True, price=Decimal(100), liquidity=Liquidity.TAKER, reason=FillReason.STOP_TRIGGERED)
    assert resolve_intrabar(Side.SELL, {"a": maker, "b": taker}) == ("b", taker)


# --- properties -----------------------------------------------------------------------------------

TICK = 0.5


@st.composite
def _candles(draw: st.DrawFn, off_tick: bool = False) -> Candle:
    low = draw(st.integers(min_value=2, max_value=400_000))
    high = low + draw(st.integers(min_value=0, max_value=4_000))
    open_, close = (draw(st.integers(min_value=low, max_value=high)) for _ in range(2))
    jitter = st.floats(min_value=0, max_value=0.49) if off_tick else st.just(0.0)
    lo, hi = low * TICK - draw(jitter), high * TICK + draw(jitter)
    return Candle(
        ts=0,
        open=open_ * TICK,
        high=hi,
        low=lo,
        close=close * TICK,
        volume=draw(st.floats(min_value=0, max_value=1e4)),
    )


@st.composite
def _orders(draw: st.DrawFn) -> OrderIntent:
    order_type = draw(st.sampled_from(OrderType))
    price = st.integers(min_value=1, max_value=410_000).map(lambda t: Decimal(t) * Decimal("0.5"))
    return OrderIntent(
        instrument=ID,
        side=draw(st.sampled_from(Side)),
        contracts=draw(st.integers(min_value=1, max_value=100_000)),
        order_type=order_type,
        limit_price=draw(price) if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        stop_price=draw(price) if order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) else None,
    )


_MODELS = st.builds(
    SlippageModel,
    fixed_bps=st.floats(min_value=0, max_value=50),
    impact_coefficient=st.floats(min_value=0, max_value=5),
    max_slippage_bps=st.floats(min_value=0, max_value=500),
)


@given(order=_orders(), candle=_candles(), model=_MODELS)
def test_fills_stay_in_range_on_tick_and_never_beat_the_reference(
    order: OrderIntent, candle: Candle, model: SlippageModel
) -> None:
    decision = simulate_fill(order, candle, BTCUSD, model)
    if not decision.filled:
        return
    price, reference = decision.price, decision.reference_price
    assert price is not None and reference is not None
    assert Decimal(repr(candle.low)) <= price <= Decimal(repr(candle.high))
    assert BTCUSD.is_on_tick(price)
    assert order.side.sign * (price - reference) >= 0  # buys never below, sells never above
    if order.limit_price is not None:
        assert order.side.sign * (price - order.limit_price) <= 0  # never worse than the limit


@given(order=_orders(), candle=_candles(off_tick=True), model=_MODELS)
def test_off_tick_candles_fill_within_half_a_tick_of_the_range(
    order: OrderIntent, candle: Candle, model: SlippageModel
) -> None:
    decision = simulate_fill(order, candle, BTCUSD, model)
    if decision.price is not None:
        half = Decimal("0.25")
        assert Decimal(repr(candle.low)) - half <= decision.price <= Decimal(repr(candle.high)) + half
        assert BTCUSD.is_on_tick(decision.price)
