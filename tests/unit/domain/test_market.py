from decimal import Decimal

import pytest

from tests.testkit.instruments import btcusd, tiered_btcusd
from trading_agent.domain import Candle, DomainError, InstrumentId, SeriesKey, Timeframe


def test_candle_rejects_inconsistent_ohlc() -> None:
    with pytest.raises(DomainError, match="high/low"):
        Candle(0, open=10, high=9, low=8, close=9.5, volume=1)
    with pytest.raises(DomainError, match="positive"):
        Candle(0, open=-1, high=9, low=8, close=9.5, volume=1)
    with pytest.raises(DomainError, match="volume"):
        Candle(0, open=9, high=10, low=8, close=9.5, volume=float("nan"))


def test_candle_close_time() -> None:
    assert Candle(3_600_000, 1, 2, 1, 1.5, 0).close_time(Timeframe.H1) == 7_200_000


def test_instrument_rounds_to_tick_and_computes_notional() -> None:
    btc = btcusd()
    assert btc.round_price(Decimal("60000.26")) == Decimal("60000.5")
    assert btc.round_price(Decimal("60000.24")) == Decimal("60000.0")
    assert btc.is_on_tick(Decimal("60000.5"))
    assert not btc.is_on_tick(Decimal("60000.3"))
    assert btc.notional(-10, Decimal(60000)) == Decimal("600.000")


def test_margins_grow_above_the_max_leverage_notional() -> None:
    btc = tiered_btcusd()
    for notional in (Decimal(0), Decimal(100_000)):  # flat up to the threshold
        assert (btc.initial_margin_at(notional), btc.maintenance_margin_at(notional)) == (
            Decimal("0.005"),
            Decimal("0.0025"),
        )
        assert btc.max_leverage_at(notional) == 200
    # 200,000 USD: IM 0.5% + 2.5e-8 x 100,000 = 0.75%, MM 0.25% + 0.125% = 0.375%, leverage 100 / 0.75
    assert btc.initial_margin_at(Decimal(200_000)) == Decimal("0.0075")
    assert btc.maintenance_margin_at(Decimal(200_000)) == Decimal("0.00375")
    assert abs(btc.max_leverage_at(Decimal(200_000)) - Decimal("133.3333")) < Decimal("0.0001")
    assert btcusd().max_leverage_at(Decimal(10**9)) == 200  # no threshold: flat at any size


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tick_size", Decimal(0), "tick_size"),
        ("min_size", 0, "min_size"),
        ("maintenance_margin", Decimal("0.01"), "maintenance_margin exceeds"),
        ("initial_margin_scaling", Decimal("-1e-8"), "initial_margin_scaling must be zero or positive"),
        ("maintenance_margin_scaling", Decimal("1e-7"), "maintenance_margin_scaling exceeds"),
        ("max_leverage_notional", Decimal(0), "max_leverage_notional must be positive"),
        ("price_band", Decimal(1), "price_band must be a fraction"),
    ],
)
def test_instrument_rejects_bad_specs(field: str, value: object, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        btcusd(**{field: value})


def test_ids_and_series_keys_print_and_validate() -> None:
    key = SeriesKey.of("binance", "BTCUSDT", "1h")
    assert str(key) == "binance:BTCUSDT:1h"
    with pytest.raises(DomainError, match="venue"):
        InstrumentId("bin:ance", "BTCUSDT")
