"""Perpetual funding: the payment at a settlement, the settlement grid, and rate look-up.

Facts from ../shared/DELTA_EXCHANGE.md §7 [D-REST] [D-WS] [MCP-FUND]: funding settles every 8 h
on the **mark price**; a positive rate means longs pay shorts; payment = size x contract_value x
mark x rate. The API's ``funding_rate`` is a *percent* per interval; everything here takes a
**fraction** per interval (0.0001 = 0.01%), as ``domain.FundingRate`` does, so the adapter
divides by 100.

UNVERIFIED for Delta India: the settlement clock times. The default grid (every 8 h from the
Unix epoch, i.e. 00/08/16 UTC) matches the Binance series in ../shared/data; the anchor is a
parameter, and live trading should follow the exchange's ``nfr`` (next funding realisation) field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from trading_agent.domain import FundingRate, Instrument, PositionSide
from trading_agent.engine.errors import FundingInputError

__all__ = [
    "DEFAULT_FUNDING_INTERVAL_S",
    "FundingInputError",
    "FundingSeries",
    "funding_payment",
    "funding_times",
    "next_funding_time",
    "rate_at",
]

DEFAULT_FUNDING_INTERVAL_S = 8 * 3600


def funding_payment(
    side: PositionSide, contracts: int, mark: Decimal, rate: Decimal, instrument: Instrument
) -> Decimal:
    """Cash flow to the account at a funding settlement, in USD.

    amount = contracts x contract_value x mark x rate; a long's cash flow is ``-amount``, a
    short's ``+amount``. So with a positive rate a long pays (negative result) and a short
    receives; a negative rate reverses both. Not rounded.
    """
    if contracts <= 0:
        raise FundingInputError(f"contracts must be a positive whole number, got {contracts}")
    if not mark.is_finite() or mark <= 0:
        raise FundingInputError(f"mark must be finite and positive, got {mark}")
    if not rate.is_finite():
        raise FundingInputError(f"rate must be finite, got {rate}")
    amount = instrument.notional(contracts, mark) * rate
    return -amount if side is PositionSide.LONG else amount


def _check_grid(interval_s: int) -> int:
    if interval_s <= 0:
        raise FundingInputError(f"interval_s must be positive, got {interval_s}")
    return interval_s * 1000


def next_funding_time(ts_ms: int, interval_s: int = DEFAULT_FUNDING_INTERVAL_S, anchor_ms: int = 0) -> int:
    """The first settlement time at or after ``ts_ms`` on the grid ``anchor_ms + k x interval``."""
    step = _check_grid(interval_s)
    return anchor_ms - ((anchor_ms - ts_ms) // step) * step


def funding_times(
    start_ms: int, end_ms: int, interval_s: int = DEFAULT_FUNDING_INTERVAL_S, anchor_ms: int = 0
) -> list[int]:
    """Settlement times (epoch ms) in the half-open window ``[start_ms, end_ms)``.

    The grid is ``anchor_ms + k x interval_s``; the defaults give 00:00, 08:00 and 16:00 UTC
    (UNVERIFIED for Delta, see the module docstring). Half-open, so consecutive windows never
    count a settlement twice.
    """
    step = _check_grid(interval_s)
    if end_ms < start_ms:
        raise FundingInputError(f"end_ms {end_ms} is before start_ms {start_ms}")
    first = next_funding_time(start_ms, interval_s, anchor_ms)
    return list(range(first, end_ms, step))


def _readonly(values: npt.ArrayLike, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    array = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, eq=False)
class FundingSeries:
    """A stored funding-rate series: settlement times (epoch ms, strictly increasing) and rates.

    Rates are fractions per interval. ``default_rate`` is the configured constant used at a
    settlement the series does not hold. The arrays are copied and made read-only.
    """

    timestamps: npt.NDArray[np.int64]
    rates: npt.NDArray[np.float64]
    default_rate: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        ts = _readonly(self.timestamps, np.int64)
        rates = _readonly(self.rates, np.float64)
        if ts.ndim != 1 or rates.shape != ts.shape:
            raise FundingInputError(f"timestamps and rates must be 1-D of equal length, got {ts.shape}, {rates.shape}")
        if ts.size > 1 and not bool(np.all(np.diff(ts) > 0)):
            raise FundingInputError("timestamps must be strictly increasing")
        if not bool(np.all(np.isfinite(rates))):
            raise FundingInputError("rates must be finite")
        if not self.default_rate.is_finite():
            raise FundingInputError(f"default_rate must be finite, got {self.default_rate}")
        object.__setattr__(self, "timestamps", ts)
        object.__setattr__(self, "rates", rates)

    @classmethod
    def from_rates(cls, rates: Iterable[FundingRate], default_rate: Decimal = Decimal(0)) -> FundingSeries:
        """Build a series from ``domain.FundingRate`` records (must already be sorted by time)."""
        items = list(rates)
        return cls(
            np.array([r.ts for r in items], dtype=np.int64),
            np.array([r.rate for r in items], dtype=np.float64),
            default_rate,
        )

    @classmethod
    def constant(cls, rate: Decimal) -> FundingSeries:
        """An empty series: every settlement uses ``rate``."""
        return cls(np.array([], dtype=np.int64), np.array([], dtype=np.float64), rate)


def rate_at(ts_ms: int, series: FundingSeries) -> Decimal:
    """The rate settled exactly at ``ts_ms``, else the series' ``default_rate``.

    Stored float rates convert via their shortest repr (0.0001 -> Decimal("0.0001")), not the
    binary expansion. Binary search: O(log n).
    """
    index = int(np.searchsorted(series.timestamps, ts_ms))
    if index < series.timestamps.size and int(series.timestamps[index]) == ts_ms:
        return Decimal(repr(float(series.rates[index])))
    return series.default_rate
