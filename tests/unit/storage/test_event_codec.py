"""The event codec: every domain event survives encode -> JSON text -> decode identical, and bad payloads are named."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.testkit.instruments import BTCUSD_ID
from trading_agent.domain import (
    AgentCommand,
    AgentControlled,
    AnomalyAction,
    Candle,
    CandleClosed,
    CircuitBreakerReset,
    CircuitBreakerTripped,
    ClientOrderId,
    Direction,
    EquitySnapshotTaken,
    Event,
    FeedGapBackfilled,
    Fill,
    FundingApplied,
    FundingRate,
    InstrumentId,
    InstrumentMark,
    Liquidity,
    MarketAnomaly,
    ModelDrift,
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
    PortfolioState,
    Position,
    PositionChanged,
    PositionClosed,
    PositionLiquidated,
    PositionOpened,
    PositionSide,
    RiskApproved,
    RiskRejected,
    SeriesKey,
    Side,
    Signal,
    SignalFiltered,
    SignalGenerated,
    Timeframe,
    Trade,
    TradeId,
)
from trading_agent.domain import events as domain_events
from trading_agent.storage import StorageError, decode_event, encode_event

T0 = 1_719_000_000_000
ETHUSD_ID = InstrumentId("delta_india", "ETHUSD")
AWKWARD_FLOATS = {"tenth": 0.1, "tiny": 5e-324, "huge": 1.7976931348623157e308, "integral": 1e16, "negative_zero": -0.0}


def stored(payload: dict[str, Any]) -> Any:
    """The payload as a JSON column gives it back: through JSON text."""
    return json.loads(json.dumps(payload, allow_nan=False))


def round_trip(event: Event) -> Event:
    event_type, payload = encode_event(event)
    return decode_event(event_type, stored(payload))


def assert_identical(decoded: Event, original: Event) -> None:
    """Equal, and equal in repr too: same types, same decimal exponents, same enum members."""
    assert decoded == original
    assert repr(decoded) == repr(original)


def every_event() -> list[Event]:
    """A hand-made example of every event class, filling the optional fields in some and leaving them out in others."""
    signal = Signal(
        instrument=BTCUSD_ID,
        ts=T0,
        direction=Direction.SHORT,
        strength=-0.35,
        confidence=0.64,
        model_votes={"lightgbm": 0.61, "tcn": 2 / 3},
        regime="high_vol",
        anomaly=True,
    )
    entry = OrderIntent(
        instrument=BTCUSD_ID,
        side=Side.SELL,
        contracts=12,
        order_type=OrderType.STOP_LIMIT,
        limit_price=Decimal("64999.5"),
        stop_price=Decimal("65000.0"),
        client_order_id=ClientOrderId("me-1"),
        leverage=Decimal("20"),
        stop_distance=Decimal("812.50"),
        signal=signal,
    )
    stop = OrderIntent(
        instrument=BTCUSD_ID,
        side=Side.BUY,
        contracts=12,
        order_type=OrderType.STOP_MARKET,
        stop_price=Decimal("65812.0"),
        reduce_only=True,
        role=OrderRole.STOP_LOSS,
    )
    accepted = Order(id=OrderId("s1-o1"), intent=entry, status=OrderStatus.ACCEPTED, ts_created=T0, ts_updated=T0)
    filled = replace(
        accepted,
        status=OrderStatus.FILLED,
        ts_updated=T0 + 60_000,
        filled_contracts=12,
        avg_fill_price=Decimal("64999.5"),
    )
    protective = Order(id=OrderId("s1-o2"), intent=stop, status=OrderStatus.SUBMITTED, ts_created=T0, ts_updated=T0)
    fill = Fill(
        trade_id=TradeId("s1-f1"),
        order_id=accepted.id,
        instrument=BTCUSD_ID,
        side=Side.SELL,
        contracts=12,
        price=Decimal("64999.5"),
        fee=Decimal("0.38999700"),
        liquidity=Liquidity.TAKER,
        ts=T0 + 60_000,
    )
    position = Position(
        instrument=BTCUSD_ID,
        side=PositionSide.SHORT,
        contracts=12,
        entry_price=Decimal("64999.5"),
        leverage=Decimal("20"),
        margin=Decimal("38.9997"),
        liquidation_price=Decimal("68087.0"),
        ts_opened=T0 + 60_000,
        fees=Decimal("0.389997"),
        funding=Decimal("-0.0001"),
    )
    trade = Trade(
        id=TradeId("s1-t1"),
        instrument=BTCUSD_ID,
        side=PositionSide.SHORT,
        contracts=12,
        entry_price=Decimal("64999.5"),
        exit_price=Decimal("65812.0"),
        pnl=Decimal("-10.53"),
        pnl_percent=Decimal("-27.0002"),
        fees=Decimal("0.78"),
        funding=Decimal("0"),
        ts_opened=T0 + 60_000,
        ts_closed=T0 + 7_200_000,
        exit_reason=OrderRole.STOP_LOSS.value,
        signal_confidence=0.64,
        model_predictions={"lightgbm": 0.61},
        market_conditions=AWKWARD_FLOATS,
    )
    state = PortfolioState(
        ts=T0 + 60_000,
        cash=Decimal("10000.00"),
        equity=Decimal("9999.61"),
        unrealized_pnl=Decimal("0E-8"),
        realized_pnl=Decimal("-1E-8"),
        peak_equity=Decimal("10000.00"),
        day_start_equity=Decimal("10000"),
        positions=(position, replace(position, instrument=ETHUSD_ID, liquidation_price=None)),
        consecutive_losses=2,
        trades_today=1,
        last_trade_ts=T0 + 60_000,
        fees=Decimal("0.389997"),
        funding=Decimal("-0.0001"),
    )
    series = SeriesKey(BTCUSD_ID, Timeframe.M1)
    return [
        CandleClosed(ts_event=T0 + 60_000, series=series, candle=Candle(T0, 65010.5, 65020.0, 64990.0, 64999.5, 0.0)),
        FeedGapBackfilled(ts_event=T0, ts_init=T0 + 5, event_id="s1:2", series=series, missing=7),
        SignalGenerated(ts_event=T0, signal=signal),
        SignalFiltered(ts_event=T0, signal=signal, reasons=("min_confidence", "paused")),
        AgentControlled(ts_event=T0, command=AgentCommand.SET_MODE, value="conservative", reason="telegram"),
        RiskApproved(ts_event=T0, intent=entry, requested_contracts=20),
        RiskRejected(ts_event=T0, intent=stop, violations=("max_open_positions",)),
        OrderSubmitted(ts_event=T0, order=protective),
        OrderAccepted(ts_event=T0, order=accepted),
        OrderRejected(
            ts_event=T0, order=replace(protective, reject_reason="reduce-only without a position"), reason="x"
        ),
        OrderCanceled(ts_event=T0, order=protective, reason="position closed"),
        OrderAmended(ts_event=T0, order=protective, reason="trailing stop moved"),
        OrderFillRefused(ts_event=T0, order=accepted, reason="slippage 41 bps over 30", attempt=3),
        OrderFilled(ts_event=T0 + 60_000, order=filled, fill=fill),
        PositionOpened(ts_event=T0 + 60_000, position=position),
        PositionChanged(ts_event=T0 + 60_000, position=replace(position, liquidation_price=None)),
        PositionClosed(ts_event=T0 + 7_200_000, trade=trade),
        PositionLiquidated(ts_event=T0 + 7_200_000, trade=replace(trade, signal_confidence=None, model_predictions={})),
        FundingApplied(ts_event=T0, instrument=BTCUSD_ID, rate=FundingRate(T0, -1.25e-4), amount=Decimal("-0.0081")),
        CircuitBreakerTripped(ts_event=T0, breaker="daily_loss", reason="-5.2% today"),
        CircuitBreakerReset(ts_event=T0, breaker="daily_loss", reason="new UTC day"),
        ModelDrift(ts_event=T0, model="lightgbm", short_accuracy=0.48, long_accuracy=0.55, threshold=0.05),
        MarketAnomaly(
            ts_event=T0, instrument=BTCUSD_ID, active=True, score=3.25, threshold=1.5, action=AnomalyAction.HALVE
        ),
        EquitySnapshotTaken(
            ts_event=T0 + 60_000,
            state=state,
            marks=(
                InstrumentMark(instrument=BTCUSD_ID, candle_ts=T0, price=Decimal("64999.5"), volatility=0.0123),
                InstrumentMark(instrument=ETHUSD_ID, candle_ts=T0, price=Decimal("3500.25")),
            ),
        ),
        EquitySnapshotTaken(ts_event=T0, state=replace(state, positions=(), last_trade_ts=None)),
    ]


def test_the_examples_cover_every_event_class() -> None:
    """A new event class fails here until it has an example (and so round-trip coverage)."""
    assert {type(event).__name__ for event in every_event()} == set(domain_events.__all__) - {"Event"}


@pytest.mark.parametrize("event", every_event(), ids=lambda event: type(event).__name__)
def test_every_event_round_trips_identically(event: Event) -> None:
    assert encode_event(event)[0] == type(event).__name__
    assert_identical(round_trip(event), event)


def test_the_payload_is_plain_json_with_exact_decimals() -> None:
    filled = next(event for event in every_event() if isinstance(event, OrderFilled))
    _, payload = encode_event(filled)
    assert payload["fill"]["fee"] == "0.38999700"
    assert payload["order"]["intent"]["signal"]["direction"] == "short"
    assert payload["order"]["intent"]["instrument"] == {"venue": "delta_india", "symbol": "BTCUSD"}
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload


def test_non_finite_floats_travel_as_strings() -> None:
    closed = next(event for event in every_event() if isinstance(event, PositionClosed))
    conditions = {"atr": math.nan, "up": math.inf, "down": -math.inf}
    event = replace(closed, trade=replace(closed.trade, market_conditions=conditions))
    event_type, payload = encode_event(event)
    assert payload["trade"]["market_conditions"] == {"atr": "NaN", "up": "Infinity", "down": "-Infinity"}
    decoded = decode_event(event_type, stored(payload))
    assert isinstance(decoded, PositionClosed)
    assert math.isnan(decoded.trade.market_conditions["atr"])
    assert decoded.trade.market_conditions["up"] == math.inf
    assert decoded.trade.market_conditions["down"] == -math.inf


def test_an_integral_number_decodes_as_the_float_it_spells() -> None:
    """PostgreSQL's JSONB writes the float 1e16 back as the integer 10000000000000000."""
    funding = next(event for event in every_event() if isinstance(event, FundingApplied))
    event_type, payload = encode_event(replace(funding, rate=FundingRate(T0, 1e16)))
    payload["rate"]["rate"] = 10_000_000_000_000_000
    decoded = decode_event(event_type, payload)
    assert isinstance(decoded, FundingApplied)
    assert decoded.rate.rate == 1e16
    assert type(decoded.rate.rate) is float


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(lambda value: abs(value) < 10**30)
prices = decimals.filter(lambda value: value > 0)
timestamps = st.integers(min_value=0, max_value=2**62)
floats = st.floats(allow_nan=False)


@given(
    contracts=st.integers(min_value=1, max_value=2**62),
    price=prices,
    fee=decimals,
    ts=timestamps,
    side=st.sampled_from(Side),
    liquidity=st.sampled_from(Liquidity),
)
def test_fills_round_trip_for_any_exact_values(
    *, contracts: int, price: Decimal, fee: Decimal, ts: int, side: Side, liquidity: Liquidity
) -> None:
    filled = next(event for event in every_event() if isinstance(event, OrderFilled))
    fill = replace(filled.fill, contracts=contracts, price=price, fee=fee, ts=ts, side=side, liquidity=liquidity)
    event = replace(filled, fill=fill, ts_event=ts, ts_init=ts)
    assert_identical(round_trip(event), event)


@given(
    money=st.lists(decimals, min_size=8, max_size=8),
    counts=st.lists(st.integers(min_value=0, max_value=2**40), min_size=2, max_size=2),
    last_trade_ts=st.none() | timestamps,
    mark_price=prices,
)
def test_portfolio_snapshots_round_trip_for_any_exact_values(
    money: list[Decimal], counts: list[int], last_trade_ts: int | None, mark_price: Decimal
) -> None:
    snapshot = next(event for event in every_event() if isinstance(event, EquitySnapshotTaken) and event.marks)
    cash, equity, unrealized, realized, peak, day_start, fees, funding = money
    state = replace(
        snapshot.state,
        cash=cash,
        equity=equity,
        unrealized_pnl=unrealized,
        realized_pnl=realized,
        peak_equity=peak,
        day_start_equity=day_start,
        fees=fees,
        funding=funding,
        consecutive_losses=counts[0],
        trades_today=counts[1],
        last_trade_ts=last_trade_ts,
    )
    marks = tuple(replace(mark, price=mark_price) for mark in snapshot.marks)
    event = replace(snapshot, state=state, marks=marks)
    assert_identical(round_trip(event), event)


@given(
    confidence=st.none() | floats,
    predictions=st.dictionaries(st.text(max_size=8), floats, max_size=4),
    rate=floats,
)
def test_floats_round_trip_exactly(confidence: float | None, predictions: dict[str, float], rate: float) -> None:
    closed = next(event for event in every_event() if isinstance(event, PositionClosed))
    event = replace(closed, trade=replace(closed.trade, signal_confidence=confidence, model_predictions=predictions))
    assert_identical(round_trip(event), event)
    funding = next(event for event in every_event() if isinstance(event, FundingApplied))
    if math.isfinite(rate):
        with_rate = replace(funding, rate=FundingRate(T0, rate))
        assert_identical(round_trip(with_rate), with_rate)


def payload_of(event_class: type[Event]) -> dict[str, Any]:
    return encode_event(next(event for event in every_event() if type(event) is event_class))[1]


def test_an_unknown_event_type_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="unknown event type 'OrderTeleported'"):
        decode_event("OrderTeleported", payload_of(OrderFilled))


def test_a_missing_field_is_named() -> None:
    payload = payload_of(OrderFilled)
    del payload["fill"]["price"]
    with pytest.raises(StorageError, match=r"OrderFilled: field OrderFilled\.fill\.price: missing"):
        decode_event("OrderFilled", payload)


def test_a_missing_event_identity_is_never_made_up() -> None:
    payload = payload_of(CircuitBreakerReset)
    del payload["event_id"]
    with pytest.raises(StorageError, match=r"field CircuitBreakerReset\.event_id: missing"):
        decode_event("CircuitBreakerReset", payload)


def test_a_missing_defaulted_field_takes_its_default() -> None:
    """An event written before a defaulted field existed still reads back."""
    payload = payload_of(EquitySnapshotTaken)
    del payload["marks"]
    del payload["state"]["funding"]
    decoded = decode_event("EquitySnapshotTaken", payload)
    assert isinstance(decoded, EquitySnapshotTaken)
    assert (decoded.marks, decoded.state.funding) == ((), Decimal(0))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("fill", "contracts"), "12", r"OrderFilled\.fill\.contracts: expected int, got str '12'"),
        (("fill", "contracts"), True, r"OrderFilled\.fill\.contracts: expected int, got bool"),
        (("fill", "price"), 64999.5, r"OrderFilled\.fill\.price: expected a decimal string, got float"),
        (("fill", "price"), "cheap", r"OrderFilled\.fill\.price: 'cheap' is not a decimal"),
        (("fill", "price"), " 1.5", r"OrderFilled\.fill\.price: ' 1.5' is not a decimal in canonical form"),
        (("fill", "liquidity"), "both", r"OrderFilled\.fill\.liquidity: 'both' is not a Liquidity"),
        (("fill", "contracts"), 0, r"OrderFilled\.fill: invalid Fill: .*contracts must be positive"),
        (("fill", "instrument"), "delta_india:BTCUSD", r"OrderFilled\.fill\.instrument: expected an object"),
        (("order", "intent", "signal", "strength"), "strong", r"intent\.signal\.strength: expected a number"),
        (("fill", "surprise"), 1, r"OrderFilled\.fill: unknown field\(s\) \['surprise'\] for Fill"),
    ],
)
def test_a_malformed_field_is_named(path: tuple[str, ...], value: object, message: str) -> None:
    payload = payload_of(OrderFilled)
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(StorageError, match=message):
        decode_event("OrderFilled", payload)


def test_a_tuple_must_be_a_list() -> None:
    payload = payload_of(RiskRejected)
    payload["violations"] = "max_open_positions"
    with pytest.raises(StorageError, match=r"RiskRejected\.violations: expected a list, got str"):
        decode_event("RiskRejected", payload)


def test_only_domain_events_are_encoded() -> None:
    class HomeMadeEvent(Event):
        pass

    with pytest.raises(StorageError, match="HomeMadeEvent"):
        encode_event(HomeMadeEvent(ts_event=T0))
