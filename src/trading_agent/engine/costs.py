"""Trading costs: slippage (fixed plus square-root impact) and exchange fees with GST.

Slippage is a float fraction of price (the hot path stays in floats); it is turned into a
``Decimal`` price once, at the fill boundary (``slipped_price``). Fees are ``Decimal`` throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from trading_agent.domain import Candle, Instrument, Liquidity, Side
from trading_agent.engine.errors import EngineError

__all__ = ["FeeModel", "SlippageModel", "slipped_price"]

_BPS = 10_000.0


def _check_non_negative(owner: str, name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise EngineError(f"{owner}: {name} must be finite and >= 0, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SlippageModel:
    """Adverse price slippage as a fraction of price: fixed part plus square-root market impact.

    ``fraction = min(fixed_bps / 1e4 + impact_coefficient * volatility * sqrt(participation),
    max_slippage_bps / 1e4)`` where

    - ``volatility`` is a relative volatility (ATR / price, say). When the caller gives none, the
      fill candle's own range ``(high - low) / open`` is used. Trap: that range is not known when the
      order is placed; it is a cost proxy only, never a decision input. Pass ATR/price known at
      decision time to avoid it.
    - ``participation = quantity / candle.volume``, capped at 1 (an order bigger than the candle's
      volume pays the full ``impact_coefficient * volatility``). A zero-volume candle counts as
      participation 1. ``quantity`` must be in the candle volume's unit (the base asset, e.g. BTC:
      ``contracts * contract_value``).

    The square-root law (impact ~ Y * sigma * sqrt(Q / V), Y of order 1) is the field's usual
    choice. ``max_slippage_bps`` caps the total, so one freak candle cannot produce absurd prices.
    """

    fixed_bps: float = 2.0
    impact_coefficient: float = 1.0
    max_slippage_bps: float = 100.0

    def __post_init__(self) -> None:
        for name in ("fixed_bps", "impact_coefficient", "max_slippage_bps"):
            _check_non_negative("SlippageModel", name, getattr(self, name))

    def fraction(self, quantity: float, candle: Candle, volatility: float | None = None) -> float:
        """Adverse slippage as a fraction of price (0.001 = 10 bps) for ``quantity`` base units."""
        if not (math.isfinite(quantity) and quantity >= 0):
            raise EngineError(f"slippage quantity must be finite and >= 0, got {quantity}")
        vol = (candle.high - candle.low) / candle.open if volatility is None else volatility
        if not (math.isfinite(vol) and vol >= 0):
            raise EngineError(f"volatility must be finite and >= 0, got {vol}")
        participation = 1.0 if candle.volume <= 0 else min(quantity / candle.volume, 1.0)
        raw = self.fixed_bps / _BPS + self.impact_coefficient * vol * math.sqrt(participation)
        return min(raw, self.max_slippage_bps / _BPS)


def slipped_price(reference: Decimal, side: Side, fraction: float) -> Decimal:
    """``reference`` moved against the trader: buys pay ``ref * (1 + f)``, sells get ``ref * (1 - f)``.

    Not rounded to the tick: the fill simulator rounds (adversely) and clips to the candle.
    """
    if not (math.isfinite(fraction) and 0 <= fraction < 1):
        raise EngineError(f"slippage fraction must be in [0, 1), got {fraction}")
    return reference * (1 + side.sign * Decimal(repr(fraction)))


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeModel:
    """Exchange fees: ``notional x rate x (1 + gst_rate)``, GST only when ``charge_gst``.

    The rate is the instrument's ``maker_fee`` or ``taker_fee`` by liquidity. Delta Exchange India
    adds 18% GST on trading fees (whether the API's ``commission`` includes it is unverified, hence
    the switch). The fee is rounded to ``fee_precision`` USD towards +infinity (ROUND_CEILING): a
    paid fee is never under-charged, so any positive rate on a non-zero notional costs > 0. A
    negative rate (maker rebate) yields a negative fee, gets no GST, and is rounded towards zero.
    """

    gst_rate: Decimal = Decimal("0.18")
    charge_gst: bool = True
    fee_precision: Decimal = Decimal("0.00000001")

    def __post_init__(self) -> None:
        if not (self.gst_rate.is_finite() and self.gst_rate >= 0):
            raise EngineError(f"FeeModel: gst_rate must be finite and >= 0, got {self.gst_rate}")
        if not (self.fee_precision.is_finite() and self.fee_precision > 0):
            raise EngineError(f"FeeModel: fee_precision must be positive, got {self.fee_precision}")

    def rate(self, instrument: Instrument, liquidity: Liquidity) -> Decimal:
        """Effective fee rate on notional, GST included when charged (and the base rate is positive)."""
        base = instrument.maker_fee if liquidity is Liquidity.MAKER else instrument.taker_fee
        if self.charge_gst and base > 0:
            return base * (1 + self.gst_rate)
        return base

    def fee(self, instrument: Instrument, contracts: int, price: Decimal, liquidity: Liquidity) -> Decimal:
        """Fee in USD for ``contracts`` at ``price`` (positive = paid), rounded up to ``fee_precision``."""
        if not (price.is_finite() and price > 0):
            raise EngineError(f"fee price must be positive and finite, got {price}")
        raw = instrument.notional(contracts, price) * self.rate(instrument, liquidity)
        return raw.quantize(self.fee_precision, rounding=ROUND_CEILING)
