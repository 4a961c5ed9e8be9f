"""Products and tickers: parsing, units (percent vs fraction) and the Instrument conversion."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading_agent.data.delta.products import instrument_from_product, parse_product, parse_ticker
from trading_agent.data.errors import ExchangeError
from trading_agent.domain import InstrumentId


def btcusd(**changes: Any) -> dict[str, Any]:
    """BTCUSD as in the India docs' example product."""
    usd = {"id": 14, "symbol": "USD", "precision": 8}
    product = {
        "id": 27,
        "symbol": "BTCUSD",
        "contract_type": "perpetual_futures",
        "notional_type": "vanilla",
        "contract_value": "0.001",
        "tick_size": "0.5",
        "initial_margin": "0.5",
        "maintenance_margin": "0.25",
        "max_leverage_notional": "100000",
        "initial_margin_scaling_factor": "0.0000025",
        "maintenance_margin_scaling_factor": "0.00000125",
        "taker_commission_rate": "0.0005",
        "maker_commission_rate": "0.0002",
        "position_size_limit": 229167,
        "price_band": "2.5",
        "state": "live",
        "trading_status": "operational",
        "quoting_asset": usd,
        "settling_asset": usd,
    }
    return product | changes


def test_percent_fields_become_fractions() -> None:
    product = parse_product(btcusd())
    assert product.initial_margin == Decimal("0.005")
    assert product.maintenance_margin == Decimal("0.0025")
    assert product.price_band == Decimal("0.025")
    assert product.taker_fee == Decimal("0.0005")  # already a fraction
    assert product.contract_value == Decimal("0.001") and product.tick_size == Decimal("0.5")


def test_instrument_from_product() -> None:
    instrument = instrument_from_product(parse_product(btcusd()))
    assert instrument.id == InstrumentId("delta_india", "BTCUSD")
    assert instrument.max_leverage == Decimal(200)
    assert str(instrument.max_leverage) == "200"
    assert instrument.initial_margin == Decimal("0.005")
    assert instrument.maintenance_margin == Decimal("0.0025")
    assert (instrument.maker_fee, instrument.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))
    assert (instrument.contract_value, instrument.tick_size, instrument.min_size) == (
        Decimal("0.001"),
        Decimal("0.5"),
        1,
    )
    assert (instrument.quote_currency, instrument.settlement_currency) == ("USD", "USD")


def test_risk_limits_and_the_price_band_reach_the_instrument() -> None:
    instrument = instrument_from_product(parse_product(btcusd()))
    assert instrument.max_leverage_notional == Decimal(100_000)
    # percent per USD on the wire, fractions per USD here
    assert instrument.initial_margin_scaling == Decimal("0.000000025")
    assert instrument.maintenance_margin_scaling == Decimal("0.0000000125")
    assert instrument.price_band == Decimal("0.025")
    assert instrument.initial_margin_at(Decimal(200_000)) == Decimal("0.0075")  # 0.5% + 0.25%
    limits = ("max_leverage_notional", "initial_margin_scaling_factor", "maintenance_margin_scaling_factor")
    no_limits = dict.fromkeys(limits)
    flat = instrument_from_product(parse_product(btcusd(**no_limits)))
    assert (flat.max_leverage_notional, flat.initial_margin_scaling) == (None, 0)
    assert flat.max_leverage_at(Decimal(10**9)) == 200


def test_max_leverage_that_is_not_whole() -> None:
    product = parse_product(btcusd(initial_margin="0.3", maintenance_margin="0.15"))
    assert product.max_leverage == 1 / Decimal("0.003")


def test_numbers_are_accepted_where_strings_are_documented() -> None:
    product = parse_product(btcusd(tick_size=0.5, contract_value=0.001))
    assert product.tick_size == Decimal("0.5") and product.contract_value == Decimal("0.001")


@pytest.mark.parametrize(
    "changes",
    [{"notional_type": "inverse"}, {"contract_type": "call_options"}],
)
def test_only_linear_perpetuals_make_instruments(changes: dict[str, Any]) -> None:
    with pytest.raises(ExchangeError, match="only linear"):
        instrument_from_product(parse_product(btcusd(**changes)))


def test_impossible_margins_are_refused() -> None:
    with pytest.raises(ExchangeError, match="BTCUSD does not make a valid instrument"):
        instrument_from_product(parse_product(btcusd(maintenance_margin="0.9")))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tick_size": "half"}, "tick_size"),
        ({"initial_margin": None}, "initial_margin"),
        ({"id": "twenty"}, "id"),
        ({"settling_asset": None}, "settling_asset"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ExchangeError, match=f"product BTCUSD.*{field}"):
        parse_product(btcusd(**changes))


def test_ticker_funding_rate_is_a_percent_per_8h() -> None:
    ticker = parse_ticker(
        {
            "symbol": "BTCUSD",
            "timestamp": 1_700_000_000_123_456,
            "close": 60010.5,
            "mark_price": "60012.25",
            "spot_price": "60000",
            "funding_rate": "0.01",
            "quotes": {"best_bid": "60010", "best_ask": "60011"},
        }
    )
    assert ticker.funding_rate == Decimal("0.0001")
    assert ticker.mark_price == Decimal("60012.25")
    assert ticker.last_price == Decimal("60010.5")
    assert (ticker.best_bid, ticker.best_ask) == (Decimal("60010"), Decimal("60011"))
    assert ticker.ts == 1_700_000_000_123


def test_ticker_without_optional_fields() -> None:
    ticker = parse_ticker({"symbol": "MARK:BTCUSD", "timestamp": "1700000000000000", "mark_price": "1"})
    assert ticker.funding_rate is None and ticker.best_bid is None and ticker.last_price is None
