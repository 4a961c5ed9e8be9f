"""Instrument specifications from ``config/instruments.yaml``.

The engine reads contract specs from config so it can run Delta's BTCUSD contract over any
exchange's BTC candles. Delta's live values come from ``/v2/products`` when online.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trading_agent.config.errors import ConfigError, describe_validation_error
from trading_agent.config.files import read_yaml_mapping
from trading_agent.domain import DomainError, Instrument, InstrumentId

__all__ = ["InstrumentSpec", "load_instruments"]


class InstrumentSpec(BaseModel):
    """One instrument as written in YAML; margins, fees and the price band are fractions.

    ``max_leverage_notional`` is in USD; the margin scalings are fractions per USD above it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    venue: str
    symbol: str
    contract_value: Decimal = Field(gt=0)
    tick_size: Decimal = Field(gt=0)
    min_size: int = Field(default=1, ge=1)
    max_leverage: Decimal = Field(gt=0)
    maker_fee: Decimal = Field(ge=0, lt=1)
    taker_fee: Decimal = Field(ge=0, lt=1)
    initial_margin: Decimal = Field(gt=0, lt=1)
    maintenance_margin: Decimal = Field(gt=0, lt=1)
    funding_interval_s: int = Field(default=8 * 3600, gt=0)
    max_leverage_notional: Decimal | None = Field(default=None, gt=0)
    initial_margin_scaling: Decimal = Field(default=Decimal(0), ge=0)
    maintenance_margin_scaling: Decimal = Field(default=Decimal(0), ge=0)
    price_band: Decimal | None = Field(default=None, gt=0, lt=1)

    def to_instrument(self) -> Instrument:
        """The domain value object."""
        fields = self.model_dump(exclude={"venue", "symbol"})
        return Instrument(id=InstrumentId(self.venue, self.symbol), **fields)


class _InstrumentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    instruments: tuple[InstrumentSpec, ...]


def load_instruments(path: Path) -> dict[InstrumentId, Instrument]:
    """Every instrument in ``path``, keyed by id."""
    data = read_yaml_mapping(path)
    try:
        specs = _InstrumentsFile.model_validate(data).instruments
        instruments = [spec.to_instrument() for spec in specs]
    except ValidationError as exc:
        raise describe_validation_error(exc, str(path)) from None
    except DomainError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return {inst.id: inst for inst in instruments}
