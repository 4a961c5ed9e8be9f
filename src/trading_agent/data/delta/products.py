"""Delta products (``/v2/products``) and tickers (``/v2/tickers/{symbol}``), parsed by hand.

Units are the trap: a product's ``initial_margin``/``maintenance_margin`` and ``price_band`` are
PERCENT strings (``"0.5"`` = 0.5%), and so are its margin scaling factors (percent per USD above
``max_leverage_notional``), while its commission rates are fractions; a ticker's ``funding_rate``
is a PERCENT per 8 h. Everything here is converted to fractions on parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading_agent.data.delta.fields import Record
from trading_agent.data.errors import ExchangeError
from trading_agent.domain import DomainError, Instrument, InstrumentId

__all__ = ["VENUE", "DeltaProduct", "DeltaTicker", "instrument_from_product", "parse_product", "parse_ticker"]

VENUE = "delta_india"
_ZERO, _ONE = Decimal(0), Decimal(1)


@dataclass(frozen=True, slots=True)
class DeltaProduct:
    """One Delta contract; margins, fees and the price band are fractions (0.005 = 0.5%).

    The margin scalings are fractions per USD of position value above ``max_leverage_notional``
    (``None`` when the product gives no threshold: flat margins).
    """

    id: int
    symbol: str
    contract_type: str
    notional_type: str
    contract_value: Decimal
    tick_size: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    max_leverage_notional: Decimal | None
    initial_margin_scaling: Decimal
    maintenance_margin_scaling: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    price_band: Decimal | None
    position_size_limit: int | None
    state: str
    trading_status: str | None
    quoting_asset: str
    settling_asset: str

    @property
    def max_leverage(self) -> Decimal:
        """``1 / initial_margin`` (Delta: 100 / IM%): 200 for an initial margin of 0.5%."""
        leverage = 1 / self.initial_margin
        return leverage.quantize(_ONE) if leverage == leverage.to_integral_value() else leverage


@dataclass(frozen=True, slots=True)
class DeltaTicker:
    """A ticker snapshot; ``funding_rate`` is a fraction per 8 h (Delta sends a percent)."""

    symbol: str
    ts: int
    mark_price: Decimal
    last_price: Decimal | None
    spot_price: Decimal | None
    funding_rate: Decimal | None
    best_bid: Decimal | None
    best_ask: Decimal | None


def _asset_symbol(record: Record, name: str) -> str:
    return record.nested(name).text("symbol")


def parse_product(raw: Any) -> DeltaProduct:
    """A product from its JSON object; raises ``ExchangeError`` naming a bad field."""
    record = Record.named(raw, "product")
    limit = record.raw.get("position_size_limit")
    return DeltaProduct(
        id=record.integer("id"),
        symbol=record.text("symbol"),
        contract_type=record.text("contract_type"),
        notional_type=record.optional_text("notional_type") or "vanilla",
        contract_value=record.decimal("contract_value"),
        tick_size=record.decimal("tick_size"),
        initial_margin=record.decimal("initial_margin", percent=True),
        maintenance_margin=record.decimal("maintenance_margin", percent=True),
        max_leverage_notional=record.optional_decimal("max_leverage_notional"),
        initial_margin_scaling=record.optional_decimal("initial_margin_scaling_factor", percent=True) or _ZERO,
        maintenance_margin_scaling=record.optional_decimal("maintenance_margin_scaling_factor", percent=True) or _ZERO,
        maker_fee=record.decimal("maker_commission_rate"),
        taker_fee=record.decimal("taker_commission_rate"),
        price_band=record.optional_decimal("price_band", percent=True),
        position_size_limit=None if limit is None else record.integer("position_size_limit"),
        state=record.text("state"),
        trading_status=record.optional_text("trading_status"),
        quoting_asset=_asset_symbol(record, "quoting_asset"),
        settling_asset=_asset_symbol(record, "settling_asset"),
    )


def instrument_from_product(product: DeltaProduct) -> Instrument:
    """The domain instrument for a linear perpetual; inverse or non-perpetual products are refused."""
    if product.contract_type != "perpetual_futures" or product.notional_type != "vanilla":
        raise ExchangeError(
            f"Delta product {product.symbol} is {product.notional_type} {product.contract_type}: "
            "only linear (vanilla) perpetual futures map to an Instrument"
        )
    try:
        return Instrument(
            id=InstrumentId(VENUE, product.symbol),
            contract_value=product.contract_value,
            tick_size=product.tick_size,
            min_size=1,
            max_leverage=product.max_leverage,
            maker_fee=product.maker_fee,
            taker_fee=product.taker_fee,
            initial_margin=product.initial_margin,
            maintenance_margin=product.maintenance_margin,
            quote_currency=product.quoting_asset,
            settlement_currency=product.settling_asset,
            max_leverage_notional=product.max_leverage_notional,
            initial_margin_scaling=product.initial_margin_scaling,
            maintenance_margin_scaling=product.maintenance_margin_scaling,
            price_band=product.price_band,
        )
    except (DomainError, ArithmeticError) as exc:
        raise ExchangeError(f"Delta product {product.symbol} does not make a valid instrument: {exc}") from exc


def parse_ticker(raw: Any) -> DeltaTicker:
    """A ticker from its JSON object (REST ``/v2/tickers/{symbol}``)."""
    record = Record.named(raw, "ticker")
    symbol = record.text("symbol")
    quotes = record.raw.get("quotes")
    book = Record(quotes if isinstance(quotes, dict) else {}, f"ticker {symbol} quotes")
    return DeltaTicker(
        symbol=symbol,
        ts=record.time_ms("timestamp"),
        mark_price=record.decimal("mark_price"),
        last_price=record.optional_decimal("close"),
        spot_price=record.optional_decimal("spot_price"),
        funding_rate=record.optional_decimal("funding_rate", percent=True),
        best_bid=book.optional_decimal("best_bid"),
        best_ask=book.optional_decimal("best_ask"),
    )
