"""What the data layer needs from storage. ``trading_agent.storage`` implements it.

The data layer never imports a database driver: it talks to this protocol.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from trading_agent.domain import InstrumentId, SeriesInfo, SeriesKey

__all__ = ["CandleStore"]


class CandleStore(Protocol):
    """Bulk candle and funding-rate storage keyed by exchange/symbol/timeframe/timestamp."""

    def upsert_candles(self, series: SeriesKey, frame: pd.DataFrame) -> int:
        """Insert or replace ``frame``'s candles in one transaction; return the rows written."""
        ...

    def load_candles(self, series: SeriesKey, start_ms: int | None = None, end_ms: int | None = None) -> pd.DataFrame:
        """Stored candles with ``start_ms <= ts < end_ms`` as a candle frame (empty if none)."""
        ...

    def upsert_funding(self, instrument: InstrumentId, frame: pd.DataFrame) -> int:
        """Insert or replace funding rates in one transaction; return the rows written."""
        ...

    def load_funding(
        self, instrument: InstrumentId, start_ms: int | None = None, end_ms: int | None = None
    ) -> pd.DataFrame:
        """Stored funding rates as a funding frame."""
        ...

    def list_series(self) -> list[SeriesInfo]:
        """Every stored series with its row count and range."""
        ...
