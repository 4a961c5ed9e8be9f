"""Instruments for tests: Delta Exchange India's BTCUSD perpetual (../shared/DELTA_EXCHANGE.md section 7)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trading_agent.domain import Instrument, InstrumentId

BTCUSD_ID = InstrumentId("delta_india", "BTCUSD")


def btcusd(**overrides: Any) -> Instrument:
    """BTCUSD: 0.001 BTC per contract, 0.5 tick, 200x, 0.02%/0.05% fees, 0.5%/0.25% margins; fields overridable."""
    spec: dict[str, Any] = {
        "id": BTCUSD_ID,
        "contract_value": Decimal("0.001"),
        "tick_size": Decimal("0.5"),
        "min_size": 1,
        "max_leverage": Decimal(200),
        "maker_fee": Decimal("0.0002"),
        "taker_fee": Decimal("0.0005"),
        "initial_margin": Decimal("0.005"),
        "maintenance_margin": Decimal("0.0025"),
    }
    return Instrument(**(spec | overrides))


def tiered_btcusd(**overrides: Any) -> Instrument:
    """BTCUSD with Delta's risk limits and price band, as in config/instruments.yaml.

    Margins grow above 100,000 USD of position value (IM by 2.5e-8, MM by 1.25e-8 per USD), so a
    200,000 USD position allows 133.33x; fills stay within ±2.5% of the mark.
    """
    tiers: dict[str, Any] = {
        "max_leverage_notional": Decimal(100_000),
        "initial_margin_scaling": Decimal("0.000000025"),
        "maintenance_margin_scaling": Decimal("0.0000000125"),
        "price_band": Decimal("0.025"),
    }
    return btcusd(**(tiers | overrides))


ETHUSD_ID = InstrumentId("delta_india", "ETHUSD")


def ethusd(**overrides: Any) -> Instrument:
    """ETHUSD as in config/instruments.yaml (0.01 ETH per contract, 0.05 tick; UNVERIFIED specs), fields overridable."""
    return btcusd(id=ETHUSD_ID, contract_value=Decimal("0.01"), tick_size=Decimal("0.05"), **overrides)
