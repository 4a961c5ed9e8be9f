from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.testkit.instruments import btcusd
from trading_agent.domain import Candle, DomainError, Liquidity, Side
from trading_agent.engine.costs import FeeModel, SlippageModel, slipped_price

BTCUSD = btcusd()


def _candle(high: float = 60_300.0, low: float = 59_700.0, volume: float = 100.0) -> Candle:
    return Candle(ts=0, open=60_000.0, high=high, low=low, close=60_000.0, volume=volume)


def test_fee_with_gst_by_hand() -> None:
    fees = FeeModel()
    # 10 contracts x 0.001 BTC x 60,000 = 600 USD notional
    assert fees.fee(BTCUSD, 10, Decimal(60_000), Liquidity.TAKER) == Decimal("0.354")  # 600 x 0.0005 x 1.18
    assert fees.fee(BTCUSD, 10, Decimal(60_000), Liquidity.MAKER) == Decimal("0.1416")  # 600 x 0.0002 x 1.18


def test_fee_without_gst_by_hand() -> None:
    fees = FeeModel(charge_gst=False)
    assert fees.fee(BTCUSD, 10, Decimal(60_000), Liquidity.TAKER) == Decimal("0.30")
    assert fees.fee(BTCUSD, 10, Decimal(60_000), Liquidity.MAKER) == Decimal("0.12")
    assert fees.rate(BTCUSD, Liquidity.TAKER) == Decimal("0.0005")


def test_fee_rounds_up_to_precision() -> None:
    # 1 x 0.001 x 60,000.5 = 60.0005; x 0.0005 x 1.18 = 0.035400295 -> 0.03540030
    fee = FeeModel().fee(BTCUSD, 1, Decimal("60000.5"), Liquidity.TAKER)
    assert fee == Decimal("0.03540030")


def test_maker_rebate_gets_no_gst() -> None:
    rebate = replace(BTCUSD, maker_fee=Decimal("-0.0001"))
    assert FeeModel().fee(rebate, 10, Decimal(60_000), Liquidity.MAKER) == Decimal("-0.06")


def test_fee_model_validates() -> None:
    with pytest.raises(DomainError, match="gst_rate"):
        FeeModel(gst_rate=Decimal("-0.1"))
    with pytest.raises(DomainError, match="fee_precision"):
        FeeModel(fee_precision=Decimal(0))
    with pytest.raises(DomainError, match="price"):
        FeeModel().fee(BTCUSD, 1, Decimal("NaN"), Liquidity.TAKER)


@given(
    contracts=st.integers(min_value=1, max_value=10**6),
    price=st.decimals(min_value=Decimal("0.5"), max_value=Decimal(10**7), allow_nan=False, places=1),
    liquidity=st.sampled_from(Liquidity),
    charge_gst=st.booleans(),
)
def test_fees_are_positive_for_non_zero_notional(
    contracts: int, price: Decimal, liquidity: Liquidity, charge_gst: bool
) -> None:
    assert FeeModel(charge_gst=charge_gst).fee(BTCUSD, contracts, price, liquidity) > 0


def test_slippage_fixed_part_only() -> None:
    model = SlippageModel(fixed_bps=10, impact_coefficient=0)
    assert model.fraction(5.0, _candle()) == pytest.approx(0.001)


def test_slippage_square_root_impact_by_hand() -> None:
    model = SlippageModel(fixed_bps=0, impact_coefficient=1.0)
    # range 600 / open 60,000 = 1%; participation 1 / 100 -> sqrt = 0.1 -> 0.1%
    assert model.fraction(1.0, _candle()) == pytest.approx(0.001)
    # an explicit volatility (ATR / price) replaces the candle range
    assert model.fraction(1.0, _candle(), volatility=0.02) == pytest.approx(0.002)


def test_slippage_grows_with_size_and_volatility() -> None:
    model = SlippageModel(fixed_bps=1, impact_coefficient=0.5)
    small, big = model.fraction(0.1, _candle()), model.fraction(10.0, _candle())
    calm, wild = model.fraction(1.0, _candle(60_100, 59_900)), model.fraction(1.0, _candle(61_000, 59_000))
    assert small < big
    assert calm < wild


def test_slippage_participation_and_total_are_capped() -> None:
    model = SlippageModel(fixed_bps=0, impact_coefficient=1.0, max_slippage_bps=10_000)
    assert model.fraction(1_000.0, _candle()) == pytest.approx(0.01)  # participation capped at 1
    assert model.fraction(1.0, _candle(volume=0.0)) == pytest.approx(0.01)  # no volume: full impact
    capped = SlippageModel(fixed_bps=5, impact_coefficient=10.0, max_slippage_bps=20)
    assert capped.fraction(100.0, _candle()) == pytest.approx(0.002)


def test_slipped_price_is_adverse() -> None:
    assert slipped_price(Decimal(100), Side.BUY, 0.01) == Decimal("101.00")
    assert slipped_price(Decimal(100), Side.SELL, 0.01) == Decimal("99.00")
    assert slipped_price(Decimal(100), Side.BUY, 0.0) == Decimal(100)


def test_slippage_validates() -> None:
    with pytest.raises(DomainError, match="fixed_bps"):
        SlippageModel(fixed_bps=-1)
    with pytest.raises(DomainError, match="impact_coefficient"):
        SlippageModel(impact_coefficient=float("nan"))
    with pytest.raises(DomainError, match="quantity"):
        SlippageModel().fraction(-1.0, _candle())
    with pytest.raises(DomainError, match="volatility"):
        SlippageModel().fraction(1.0, _candle(), volatility=float("inf"))
    with pytest.raises(DomainError, match="fraction"):
        slipped_price(Decimal(100), Side.BUY, 1.0)
