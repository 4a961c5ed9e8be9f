from decimal import Decimal

import pytest

from tests.testkit.instruments import btcusd
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


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tick_size", Decimal(0), "tick_size"),
        ("min_size", 0, "min_size"),
        ("maintenance_margin", Decimal("0.01"), "maintenance_margin exceeds"),
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
