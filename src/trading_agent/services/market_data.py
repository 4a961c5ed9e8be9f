"""Market-data use cases: import, download, list, check, resample, load (with on-the-fly resampling).

Front ends call these methods and format the DTOs they return; every failure is a ``ServiceError``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from trading_agent.config import AppSettings, DeltaSettings
from trading_agent.data.files import SeriesFileKind, read_candle_file, read_funding_file
from trading_agent.data.quality import FillPolicy, default_pipeline
from trading_agent.data.resample import resample_candles
from trading_agent.data.store import CandleStore
from trading_agent.domain import InstrumentId, SeriesKey, SeriesKind, Timeframe
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.storage import open_store

__all__ = ["DELTA_VENUE", "ImportSummary", "MarketDataService", "ResampleSummary", "SeriesSummary"]

DELTA_VENUE = "delta_india"
_DAY_MS = 86_400_000


class SeriesSummary(BaseModel):
    """A stored series."""

    kind: str
    exchange: str
    symbol: str
    timeframe: str | None
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp

    model_config = {"arbitrary_types_allowed": True}


class ImportSummary(BaseModel):
    """What an import or download did: rows read, and the series size before and after."""

    series: str
    kind: str
    rows_read: int
    rows_before: int
    rows_after: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None

    model_config = {"arbitrary_types_allowed": True}

    @property
    def rows_added(self) -> int:
        """New rows (re-imported rows replace themselves and add nothing)."""
        return self.rows_after - self.rows_before


class ResampleSummary(BaseModel):
    """A resampling: how many candles went in and came out, and whether they were stored."""

    source: str
    target: str
    rows_in: int
    rows_out: int
    stored: bool


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class MarketDataService:
    """Market-data use cases over one candle store."""

    def __init__(self, store: CandleStore, delta: DeltaSettings, *, now_ms: Callable[[], int] = _now_ms) -> None:
        self._store = store
        self._delta = delta
        self._now_ms = now_ms

    @classmethod
    def from_settings(cls, settings: AppSettings) -> MarketDataService:
        """Open the configured store (migrating it to the latest schema)."""
        with service_errors():
            return cls(open_store(settings.database_url), settings.delta)

    @property
    def store(self) -> CandleStore:
        """The underlying store."""
        return self._store

    def _rows(self, kind: SeriesKind, instrument: InstrumentId, timeframe: str | None) -> int:
        for info in self._store.list_series():
            if info.kind == kind and info.instrument == instrument and info.timeframe == timeframe:
                return info.rows
        return 0

    def import_file(
        self, path: Path, exchange: str, symbol: str, timeframe: str | None, kind: SeriesFileKind
    ) -> ImportSummary:
        """Validate the whole file, then upsert it in one transaction (all or nothing)."""
        with service_errors():
            instrument = InstrumentId(exchange, symbol)
            if kind is SeriesFileKind.FUNDING:
                frame = read_funding_file(path)
                before = self._rows(SeriesKind.FUNDING, instrument, None)
                self._store.upsert_funding(instrument, frame)
                after = self._rows(SeriesKind.FUNDING, instrument, None)
                label = f"{instrument}:funding"
            else:
                if timeframe is None:
                    raise ServiceError("--timeframe is required for candle files")
                series = SeriesKey(instrument, Timeframe.parse(timeframe))
                frame = read_candle_file(path, series.timeframe)
                before = self._rows(SeriesKind.CANDLES, instrument, series.timeframe.value)
                self._store.upsert_candles(series, frame)
                after = self._rows(SeriesKind.CANDLES, instrument, series.timeframe.value)
                label = str(series)
            return ImportSummary(
                series=label,
                kind=kind.value,
                rows_read=len(frame),
                rows_before=before,
                rows_after=after,
                first=frame.index[0],
                last=frame.index[-1],
            )

    def download(
        self, symbol: str, timeframe: str, days: int, on_progress: Callable[[int, int], None] | None = None
    ) -> ImportSummary:
        """Download ``days`` of closed candles from Delta Exchange India's public REST API and store them."""
        if days <= 0:
            raise ServiceError(f"--days must be positive, got {days}")
        with service_errors():
            series = SeriesKey(InstrumentId(DELTA_VENUE, symbol), Timeframe.parse(timeframe))
            end_ms = series.timeframe.bucket_start(self._now_ms())  # the current candle is still open
            frame = asyncio.run(self._fetch(series, end_ms - days * _DAY_MS, end_ms, on_progress))
            before = self._rows(SeriesKind.CANDLES, series.instrument, series.timeframe.value)
            if not frame.empty:
                self._store.upsert_candles(series, frame)
            after = self._rows(SeriesKind.CANDLES, series.instrument, series.timeframe.value)
            return ImportSummary(
                series=str(series),
                kind="candles",
                rows_read=len(frame),
                rows_before=before,
                rows_after=after,
                first=frame.index[0] if len(frame) else None,
                last=frame.index[-1] if len(frame) else None,
            )

    async def _fetch(
        self, series: SeriesKey, start_ms: int, end_ms: int, on_progress: Callable[[int, int], None] | None
    ) -> pd.DataFrame:
        from trading_agent.data.delta import DeltaRestClient  # ccxt takes 0.5 s to import: only when needed

        async with DeltaRestClient(self._delta) as client:
            return await client.fetch_candles(
                series.instrument.symbol, series.timeframe, start_ms, end_ms, on_progress=on_progress
            )

    def list_series(self) -> list[SeriesSummary]:
        """Every stored series, candles first, then funding."""
        with service_errors():
            infos = self._store.list_series()
        return [
            SeriesSummary(
                kind=str(info.kind),
                exchange=info.instrument.venue,
                symbol=info.instrument.symbol,
                timeframe=info.timeframe,
                rows=info.rows,
                first=pd.Timestamp(info.first_ts, unit="ms", tz="UTC"),
                last=pd.Timestamp(info.last_ts, unit="ms", tz="UTC"),
            )
            for info in sorted(infos, key=lambda i: (str(i.kind), str(i.instrument), i.timeframe or ""))
        ]

    def load_candles(self, series: SeriesKey, start_ms: int | None = None, end_ms: int | None = None) -> pd.DataFrame:
        """Stored candles of ``series``; when that timeframe is not stored, resampled on the fly from the
        coarsest stored timeframe of the same instrument that divides it."""
        with service_errors():
            frame = self._store.load_candles(series, start_ms, end_ms)
            if not frame.empty:
                return frame
            base = self._resample_base(series)
            if base is None:
                return frame
            start = None if start_ms is None else series.timeframe.bucket_start(start_ms)
            source = self._store.load_candles(SeriesKey(series.instrument, base), start, end_ms)
            return resample_candles(source, base, series.timeframe)

    def _resample_base(self, series: SeriesKey) -> Timeframe | None:
        stored = [
            Timeframe.parse(info.timeframe)
            for info in self._store.list_series()
            if info.kind is SeriesKind.CANDLES and info.instrument == series.instrument and info.timeframe
        ]
        bases = [tf for tf in stored if tf != series.timeframe and tf.divides(series.timeframe)]
        return max(bases, key=lambda tf: tf.ms, default=None)

    def check_frame(
        self, frame: pd.DataFrame, timeframe: Timeframe, fill: FillPolicy = FillPolicy.LEAVE
    ) -> dict[str, Any]:
        """The data-quality report of a candle frame, as a JSON-ready dict."""
        with service_errors():
            return default_pipeline(fill=fill).run(frame, timeframe).report.to_dict()

    def check_series(self, series: SeriesKey, fill: FillPolicy = FillPolicy.LEAVE) -> dict[str, Any]:
        """The data-quality report of a stored (or resampled) series."""
        frame = self.load_candles(series)
        if frame.empty:
            raise ServiceError(f"no candles stored for {series} (see `trading-agent data list`)")
        return self.check_frame(frame, series.timeframe, fill)

    def check_file(self, path: Path, timeframe: str, fill: FillPolicy = FillPolicy.LEAVE) -> dict[str, Any]:
        """The data-quality report of a candle file, without storing it."""
        with service_errors():
            tf = Timeframe.parse(timeframe)
            return self.check_frame(read_candle_file(path, tf), tf, fill)

    def resample(self, series: SeriesKey, target: Timeframe, *, save: bool) -> ResampleSummary:
        """Resample a stored series to ``target``; with ``save`` store the result as its own series."""
        with service_errors():
            source = self._store.load_candles(series)
            if source.empty:
                raise ServiceError(f"no candles stored for {series} (see `trading-agent data list`)")
            out = resample_candles(source, series.timeframe, target)
            if save and not out.empty:
                self._store.upsert_candles(SeriesKey(series.instrument, target), out)
            return ResampleSummary(
                source=str(series), target=target.value, rows_in=len(source), rows_out=len(out), stored=save
            )
