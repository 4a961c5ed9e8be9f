"""Market data and instrument value objects.

Candle prices are floats: they are observations on the hot path. Instrument specifications that
take part in money arithmetic (contract value, tick size, fees, margins) are ``Decimal``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from trading_agent.domain.errors import DomainError
from trading_agent.domain.timeframes import Timeframe

__all__ = ["Candle", "FundingRate", "Instrument", "InstrumentId", "SeriesInfo", "SeriesKey", "SeriesKind"]

_ZERO, _ONE = Decimal(0), Decimal(1)


@dataclass(frozen=True, slots=True)
class InstrumentId:
    """An instrument on a venue: ``InstrumentId("delta_india", "BTCUSD")``."""

    venue: str
    symbol: str

    def __post_init__(self) -> None:
        for name in ("venue", "symbol"):
            value = getattr(self, name)
            if not value or not value.strip() or ":" in value:
                raise DomainError(f"{name} must be a non-empty name without ':', got {value!r}")

    def __str__(self) -> str:
        return f"{self.venue}:{self.symbol}"


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """One stored candle series: an instrument at a timeframe."""

    instrument: InstrumentId
    timeframe: Timeframe

    @classmethod
    def of(cls, venue: str, symbol: str, timeframe: str | Timeframe) -> SeriesKey:
        """Build a key from plain strings (the timeframe is validated)."""
        tf = timeframe if isinstance(timeframe, Timeframe) else Timeframe.parse(timeframe)
        return cls(InstrumentId(venue, symbol), tf)

    def __str__(self) -> str:
        return f"{self.instrument}:{self.timeframe}"


class SeriesKind(StrEnum):
    """What a stored series holds."""

    CANDLES = "candles"
    FUNDING = "funding"


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """A stored series: kind, instrument, timeframe (``None`` for funding), row count and range (epoch ms)."""

    kind: SeriesKind
    instrument: InstrumentId
    timeframe: str | None
    rows: int
    first_ts: int
    last_ts: int


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV candle; ``ts`` is the open time in epoch milliseconds UTC."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        prices = (self.open, self.high, self.low, self.close)
        if not all(math.isfinite(p) and p > 0 for p in prices):
            raise DomainError(f"candle at {self.ts}: prices must be finite and positive, got {prices}")
        if not (math.isfinite(self.volume) and self.volume >= 0):
            raise DomainError(f"candle at {self.ts}: volume must be finite and >= 0, got {self.volume}")
        if self.high < max(self.open, self.close) or self.low > min(self.open, self.close):
            raise DomainError(f"candle at {self.ts}: high/low do not contain open/close {prices}")

    def close_time(self, timeframe: Timeframe) -> int:
        """Epoch ms at which this candle closes (the next candle's open time)."""
        return self.ts + timeframe.ms


@dataclass(frozen=True, slots=True)
class FundingRate:
    """A funding settlement: ``rate`` is a fraction per funding interval (0.0001 = 0.01%)."""

    ts: int
    rate: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.rate):
            raise DomainError(f"funding rate at {self.ts} must be finite, got {self.rate}")


@dataclass(frozen=True, slots=True)
class Instrument:
    """A linear (USD-settled) perpetual futures contract, sized in whole contracts.

    ``initial_margin`` and ``maintenance_margin`` are fractions (0.005 = 0.5%); fees are fractions
    of notional. Notional = contracts x contract_value x price.

    Risk limits (Delta's margin scaling): above ``max_leverage_notional`` USD of position value
    the margin fractions grow linearly, ``IM(N) = initial_margin + initial_margin_scaling x (N -
    max_leverage_notional)`` and the same for ``MM`` (scalings are fractions per USD: Delta's
    ``initial_margin_scaling_factor`` of 0.0000025 percent per USD is 2.5e-8). ``None`` keeps the
    fractions flat at any size. ``price_band`` is the fraction around the mark price inside
    which fills execute (0.025 = ±2.5%), ``None`` for none.
    """

    id: InstrumentId
    contract_value: Decimal
    tick_size: Decimal
    min_size: int
    max_leverage: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    funding_interval_s: int = 8 * 3600
    quote_currency: str = "USD"
    settlement_currency: str = "USD"
    max_leverage_notional: Decimal | None = None
    initial_margin_scaling: Decimal = Decimal(0)
    maintenance_margin_scaling: Decimal = Decimal(0)
    price_band: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("contract_value", "tick_size", "max_leverage", "initial_margin", "maintenance_margin"):
            if getattr(self, name) <= 0:
                raise DomainError(f"{self.id}: {name} must be positive, got {getattr(self, name)}")
        if self.min_size < 1:
            raise DomainError(f"{self.id}: min_size must be at least 1 contract, got {self.min_size}")
        if self.maintenance_margin > self.initial_margin:
            raise DomainError(f"{self.id}: maintenance_margin exceeds initial_margin")
        if self.funding_interval_s <= 0:
            raise DomainError(f"{self.id}: funding_interval_s must be positive")
        for name in ("initial_margin_scaling", "maintenance_margin_scaling"):
            if not getattr(self, name) >= 0:
                raise DomainError(f"{self.id}: {name} must be zero or positive, got {getattr(self, name)}")
        if self.maintenance_margin_scaling > self.initial_margin_scaling:
            raise DomainError(f"{self.id}: maintenance_margin_scaling exceeds initial_margin_scaling")
        if self.max_leverage_notional is not None and not self.max_leverage_notional > 0:
            raise DomainError(f"{self.id}: max_leverage_notional must be positive, got {self.max_leverage_notional}")
        if self.price_band is not None and not 0 < self.price_band < 1:
            raise DomainError(f"{self.id}: price_band must be a fraction in (0, 1), got {self.price_band}")

    def _above_threshold(self, notional: Decimal) -> Decimal:
        threshold = self.max_leverage_notional
        return _ZERO if threshold is None else max(_ZERO, notional - threshold)

    def initial_margin_at(self, notional: Decimal) -> Decimal:
        """The initial margin fraction for a position worth ``notional`` USD (it grows above the threshold)."""
        return self.initial_margin + self.initial_margin_scaling * self._above_threshold(notional)

    def maintenance_margin_at(self, notional: Decimal) -> Decimal:
        """The maintenance margin fraction for a position worth ``notional`` USD."""
        return self.maintenance_margin + self.maintenance_margin_scaling * self._above_threshold(notional)

    def max_leverage_at(self, notional: Decimal) -> Decimal:
        """The highest leverage for a position worth ``notional`` USD: min(max_leverage, 1 / IM(notional))."""
        return min(self.max_leverage, _ONE / self.initial_margin_at(notional))

    def round_price(self, price: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
        """Round a price to the tick: the nearest by default, else by ``rounding`` (``ROUND_FLOOR``, ...)."""
        ticks = (price / self.tick_size).to_integral_value(rounding=rounding)
        return ticks * self.tick_size

    def is_on_tick(self, price: Decimal) -> bool:
        """Whether ``price`` is a whole number of ticks."""
        return price % self.tick_size == 0

    def notional(self, contracts: int, price: Decimal) -> Decimal:
        """USD value of ``contracts`` at ``price``."""
        return abs(contracts) * self.contract_value * price
