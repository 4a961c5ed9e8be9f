"""Pre-trade limits: each violation alone, several at once, reduce-only, and properties."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.testkit.instruments import btcusd, tiered_btcusd
from trading_agent.domain.errors import DomainError
from trading_agent.domain.market import Instrument, InstrumentId
from trading_agent.domain.trading import OrderIntent, PortfolioState, Position, PositionSide, Side
from trading_agent.risk.limits import ENTRY_LIMITS, INPUT_CHECKS, RiskDecision, RiskLimits
from trading_agent.risk.sizing import SizingContext, SizingRules, contracts_for_notional, make_sizer

BTC = InstrumentId("delta_india", "BTCUSD")
ETH = InstrumentId("delta_india", "ETHUSD")
# one contract = 0.001 BTC; at 50,000 USD that is 50 USD of notional
INSTRUMENT = btcusd(
    min_size=2, max_leverage=Decimal(100), initial_margin=Decimal("0.01"), maintenance_margin=Decimal("0.005")
)
PRICE = Decimal(50_000)
NOW = 1_700_000_000_000
LIMITS = RiskLimits()
STATE = PortfolioState(
    ts=NOW,
    cash=Decimal(10_000),
    equity=Decimal(10_000),
    unrealized_pnl=Decimal(0),
    realized_pnl=Decimal(0),
    peak_equity=Decimal(10_000),
    day_start_equity=Decimal(10_000),
)
OK_INTENT = OrderIntent(instrument=BTC, side=Side.BUY, contracts=40)  # 2,000 USD


def long_position(contracts: int) -> Position:
    return Position(
        instrument=BTC,
        side=PositionSide.LONG,
        contracts=contracts,
        entry_price=PRICE,
        leverage=Decimal(1),
        margin=Decimal(1000),
        liquidation_price=None,
        ts_opened=NOW - 10**7,
    )


def check(
    intent: OrderIntent = OK_INTENT,
    state: PortfolioState = STATE,
    *,
    instrument: Instrument = INSTRUMENT,
    price: Decimal = PRICE,
    confidence: float = 0.7,
    correlation: float | None = None,
) -> RiskDecision:
    return LIMITS.validate(
        intent, state, instrument=instrument, price=price, confidence=confidence, now_ms=NOW, correlation=correlation
    )


def test_baseline_is_approved() -> None:
    decision = check()
    assert decision == RiskDecision(approved=True)


def test_issue_example_5000_usd_on_10000_balance_is_rejected() -> None:
    decision = check(OrderIntent(instrument=BTC, side=Side.BUY, contracts=100))  # 100 x 50 = 5,000 USD
    assert not decision.approved
    assert decision.violations == ("position_size",)
    assert "5000.00 USD exceeds 25% of equity (2500.00 USD)" in decision.reasons[0]


def test_position_size_at_cap_is_allowed() -> None:
    assert check(OrderIntent(instrument=BTC, side=Side.BUY, contracts=50)).approved  # exactly 2,500


def test_position_size_counts_the_existing_position() -> None:
    state = replace(STATE, positions=(long_position(30),))
    assert check(OrderIntent(instrument=BTC, side=Side.BUY, contracts=30), state).violations == ("position_size",)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"intent": OrderIntent(instrument=BTC, side=Side.SELL, contracts=51)}, "position_size"),
        ({"state": replace(STATE, equity=Decimal(9_500), peak_equity=Decimal(9_500))}, "daily_loss"),
        ({"state": replace(STATE, peak_equity=Decimal(11_765))}, "drawdown"),  # 15.0002%
        ({"state": replace(STATE, consecutive_losses=5)}, "consecutive_losses"),
        ({"intent": OrderIntent(instrument=BTC, side=Side.BUY, contracts=40, leverage=Decimal("3.5"))}, "leverage"),
        ({"confidence": 0.59}, "confidence"),
        ({"confidence": math.nan}, "confidence"),
        ({"state": replace(STATE, trades_today=20)}, "trades_per_day"),
        ({"state": replace(STATE, last_trade_ts=NOW - 299_999)}, "time_between_trades"),
        ({"correlation": 0.71}, "correlation"),
        ({"correlation": math.nan}, "correlation"),
        ({"intent": OrderIntent(instrument=ETH, side=Side.BUY, contracts=40)}, "instrument"),
        ({"price": Decimal(-1)}, "price"),
        ({"price": Decimal("NaN")}, "price"),
        ({"intent": OrderIntent(instrument=BTC, side=Side.BUY, contracts=1)}, "size"),
        ({"intent": OrderIntent(instrument=BTC, side=Side.SELL, contracts=5, reduce_only=True)}, "reduce_only"),
    ],
)
def test_each_violation_alone(kwargs: dict[str, object], name: str) -> None:
    decision = check(**kwargs)  # type: ignore[arg-type]
    assert not decision.approved
    assert decision.violations == (name,)
    assert len(decision.reasons) == 1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"state": replace(STATE, equity=Decimal("9500.01"), peak_equity=Decimal("9500.01"))}, "daily_loss"),
        ({"state": replace(STATE, consecutive_losses=4)}, "consecutive_losses"),
        ({"intent": OrderIntent(instrument=BTC, side=Side.BUY, contracts=40, leverage=Decimal(3))}, "leverage"),
        ({"confidence": 0.6}, "confidence"),
        ({"state": replace(STATE, trades_today=19)}, "trades_per_day"),
        ({"state": replace(STATE, last_trade_ts=NOW - 300_000)}, "time_between_trades"),
        ({"correlation": 0.7}, "correlation"),
    ],
)
def test_just_inside_each_limit_is_approved(kwargs: dict[str, object], name: str) -> None:
    assert check(**kwargs).approved, name  # type: ignore[arg-type]


def test_instrument_max_leverage_also_applies() -> None:
    low = replace(INSTRUMENT, max_leverage=Decimal(2))
    intent = OrderIntent(instrument=BTC, side=Side.BUY, contracts=40, leverage=Decimal("2.5"))
    assert check(intent, instrument=low).violations == ("leverage",)


def test_the_instrument_allows_less_leverage_for_a_larger_position() -> None:
    rich = replace(STATE, cash=Decimal(10**7), equity=Decimal(10**7), peak_equity=Decimal(10**7))
    limits = RiskLimits(max_leverage=200)

    def decide(contracts: int, leverage: int, held: int = 0) -> RiskDecision:
        state = replace(rich, positions=(long_position(held),)) if held else rich
        intent = OrderIntent(instrument=BTC, side=Side.BUY, contracts=contracts, leverage=Decimal(leverage))
        return limits.validate(
            intent, state, instrument=tiered_btcusd(), price=PRICE, confidence=1.0, now_ms=NOW, correlation=None
        )

    assert decide(1_000, 150).approved  # 50,000 USD: the flat 200x applies
    refused = decide(4_000, 150)  # 200,000 USD: IM 0.75%, so at most 133.33x
    assert refused.violations == ("leverage",)
    assert "133.33x" in refused.reasons[0] and "200,000.00 USD position" in refused.reasons[0]
    assert decide(4_000, 133).approved
    assert decide(1_000, 150, held=3_000).violations == ("leverage",)  # judged on the position it leads to


def test_several_violations_at_once_are_all_named() -> None:
    state = replace(
        STATE,
        equity=Decimal(8_000),
        peak_equity=Decimal(10_000),
        consecutive_losses=6,
        trades_today=25,
        last_trade_ts=NOW - 1_000,
    )
    intent = OrderIntent(instrument=BTC, side=Side.BUY, contracts=100, leverage=Decimal(10))
    decision = check(intent, state, confidence=0.1, correlation=0.95)
    assert decision.violations == ENTRY_LIMITS
    assert len(decision.reasons) == len(ENTRY_LIMITS)


def test_bad_inputs_are_rejections_not_exceptions() -> None:
    intent = OrderIntent(instrument=ETH, side=Side.BUY, contracts=1)
    decision = check(intent, price=Decimal(-5))
    assert decision.violations == ("instrument", "price", "size")  # position_size needs a price


class TestReduceOnly:
    def test_shrinking_skips_entry_limits(self) -> None:
        breached = replace(
            STATE, positions=(long_position(100),), consecutive_losses=9, trades_today=99, last_trade_ts=NOW
        )
        intent = OrderIntent(instrument=BTC, side=Side.SELL, contracts=60, reduce_only=True)
        assert check(intent, breached, confidence=0.0, correlation=1.0).approved

    def test_closing_fully_is_shrinking(self) -> None:
        state = replace(STATE, positions=(long_position(100),), trades_today=99)
        assert check(OrderIntent(instrument=BTC, side=Side.SELL, contracts=100, reduce_only=True), state).approved

    def test_input_checks_still_apply(self) -> None:
        state = replace(STATE, positions=(long_position(100),))
        intent = OrderIntent(instrument=BTC, side=Side.SELL, contracts=1, reduce_only=True)
        assert check(intent, state, price=Decimal(0)).violations == ("price", "size")
        assert INPUT_CHECKS == ("instrument", "price", "size", "reduce_only")

    def test_overshooting_or_same_side_is_not_reduce_only(self) -> None:
        state = replace(STATE, positions=(long_position(10),), trades_today=99)
        over = check(OrderIntent(instrument=BTC, side=Side.SELL, contracts=11, reduce_only=True), state)
        same = check(OrderIntent(instrument=BTC, side=Side.BUY, contracts=5, reduce_only=True), state)
        assert over.violations == ("reduce_only", "trades_per_day")
        assert same.violations == ("reduce_only", "trades_per_day")

    def test_plain_shrink_without_flag_meets_entry_limits(self) -> None:
        state = replace(STATE, positions=(long_position(100),), trades_today=99)
        assert check(OrderIntent(instrument=BTC, side=Side.SELL, contracts=60), state).violations == ("trades_per_day",)


class TestRiskLimits:
    def test_defaults(self) -> None:
        assert RiskLimits() == RiskLimits(
            max_position_fraction=0.25,
            max_daily_loss_percent=5,
            max_drawdown_percent=15,
            max_consecutive_losses=5,
            max_leverage=3,
            min_confidence=0.6,
            max_trades_per_day=20,
            min_time_between_trades_s=300,
            max_correlation=0.7,
        )

    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [
            ({"max_position_fraction": 0.0}, "max_position_fraction"),
            ({"max_daily_loss_percent": 101.0}, "max_daily_loss_percent"),
            ({"max_drawdown_percent": math.nan}, "max_drawdown_percent"),
            ({"max_correlation": 1.5}, "max_correlation"),
            ({"max_leverage": 0.5}, "max_leverage"),
            ({"min_confidence": 1.1}, "min_confidence"),
            ({"max_consecutive_losses": 0}, "max_consecutive_losses"),
            ({"max_trades_per_day": 0}, "max_trades_per_day"),
            ({"min_time_between_trades_s": -1}, "min_time_between_trades_s"),
        ],
    )
    def test_invalid(self, kwargs: dict[str, float], name: str) -> None:
        with pytest.raises(DomainError, match=name):
            RiskLimits(**kwargs)  # type: ignore[arg-type]

    def test_decision_invariant(self) -> None:
        with pytest.raises(DomainError):
            RiskDecision(approved=True, violations=("drawdown",), reasons=("x",))


@given(
    equity=st.decimals(100, 1_000_000, places=2),
    fraction=st.floats(0.05, 1.0),
    price=st.decimals(1_000, 100_000, places=1),
    risk=st.floats(0.01, 0.10),
    max_size=st.decimals(100, 50_000, places=2),
)
def test_sized_and_approved_never_exceeds_fraction_of_equity(
    equity: Decimal, fraction: float, price: Decimal, risk: float, max_size: Decimal
) -> None:
    rules = SizingRules(method="fixed_fractional", risk_per_trade=risk, max_position_size=max_size)  # type: ignore[arg-type]
    limits = RiskLimits(max_position_fraction=fraction)
    contracts = contracts_for_notional(make_sizer(rules).size(equity, SizingContext()), INSTRUMENT, price)
    if contracts == 0:
        return
    state = replace(STATE, equity=equity, peak_equity=equity, day_start_equity=equity)
    intent = OrderIntent(instrument=BTC, side=Side.BUY, contracts=contracts)
    decision = limits.validate(intent, state, instrument=INSTRUMENT, price=price, confidence=0.9, now_ms=NOW)
    if decision.approved:
        assert INSTRUMENT.notional(contracts, price) <= equity * Decimal(repr(fraction))


@given(
    contracts=st.integers(1, 500),
    side=st.sampled_from(Side),
    leverage=st.decimals(1, 10, places=1),
    equity=st.decimals(1, 20_000, places=2),
    peak_extra=st.decimals(0, 5_000, places=2),
    day_start=st.decimals(1, 20_000, places=2),
    losses=st.integers(0, 8),
    trades=st.integers(0, 30),
    since_ms=st.none() | st.integers(-1_000, 1_000_000),
    confidence=st.floats(0, 1) | st.just(math.nan),
    correlation=st.none() | st.floats(-1, 1),
)
def test_validate_never_approves_a_breach(
    *,
    contracts: int,
    side: Side,
    leverage: Decimal,
    equity: Decimal,
    peak_extra: Decimal,
    day_start: Decimal,
    losses: int,
    trades: int,
    since_ms: int | None,
    confidence: float,
    correlation: float | None,
) -> None:
    state = PortfolioState(
        ts=NOW,
        cash=equity,
        equity=equity,
        unrealized_pnl=Decimal(0),
        realized_pnl=Decimal(0),
        peak_equity=equity + peak_extra,
        day_start_equity=day_start,
        consecutive_losses=losses,
        trades_today=trades,
        last_trade_ts=None if since_ms is None else NOW - since_ms,
    )
    intent = OrderIntent(instrument=BTC, side=side, contracts=contracts, leverage=leverage)
    decision = check(intent, state, confidence=confidence, correlation=correlation)
    breaches = (
        contracts < INSTRUMENT.min_size
        or INSTRUMENT.notional(contracts, PRICE) > equity / 4
        or (day_start - equity) / day_start >= Decimal("0.05")
        or peak_extra / (equity + peak_extra) >= Decimal("0.15")
        or losses >= 5
        or leverage > 3
        or not confidence >= 0.6
        or trades >= 20
        or (since_ms is not None and since_ms < 300_000)
        or (correlation is not None and correlation > 0.7)
    )
    assert decision.approved is not breaches
