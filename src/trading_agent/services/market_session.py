"""The main job at this stage: get market data, check it, replay it through the cache.

The source is, in order: a file the user names; Delta Exchange India's public candles when the
exchange answers; otherwise a seeded synthetic market, labelled as such everywhere it is shown.
Later issues grow this session into the paper-trading agent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trading_agent.data.cache import CandleCache
from trading_agent.data.errors import ExchangeUnavailableError
from trading_agent.data.feeds.replay import ReplayFeed
from trading_agent.data.files import SeriesFileKind
from trading_agent.data.synthetic import SyntheticMarket
from trading_agent.domain import CandleClosed, InstrumentId, SeriesKey, Timeframe
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.market_data import DELTA_VENUE, ImportSummary, MarketDataService

__all__ = ["MarketSource", "PreparedMarket", "ReplayProgress", "prepare_market", "replay_market", "series_of_file"]

_FILE_NAME = re.compile(r"^(?P<exchange>[a-z0-9]+)_(?P<symbol>[A-Za-z0-9-]+)_(?P<timeframe>\d+[mhdw])$")
SYNTHETIC_VENUE = "synthetic"
SYNTHETIC_END = "2026-01-01 00:00 UTC"
SYNTHETIC_END_MS = 1_767_225_600_000  # a fixed end: the same seed gives the same candles on every run
SYNTHETIC_LABEL = "SYNTHETIC market: seeded random data, not real prices (no exchange connection)"


class MarketSource(StrEnum):
    """Where the session's candles came from."""

    FILE = "file"
    DELTA = "delta"
    SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class PreparedMarket:
    """Stored, checked candles ready to replay."""

    source: MarketSource
    label: str
    series: SeriesKey
    imported: ImportSummary
    quality: dict[str, Any]
    frame: pd.DataFrame


@dataclass
class ReplayProgress:
    """Live statistics of a replay, updated after every candle."""

    total: int
    replayed: int = 0
    last_event: CandleClosed | None = None
    first_close: float | None = None
    high: float = float("-inf")
    low: float = float("inf")
    started: float = field(default_factory=time.monotonic)

    def update(self, event: CandleClosed) -> None:
        """Account for one replayed candle."""
        self.replayed += 1
        self.last_event = event
        if self.first_close is None:
            self.first_close = event.candle.open
        self.high = max(self.high, event.candle.high)
        self.low = min(self.low, event.candle.low)

    @property
    def change(self) -> float:
        """Relative price change from the first replayed open to the last close."""
        if self.last_event is None or not self.first_close:
            return 0.0
        return self.last_event.candle.close / self.first_close - 1.0


def series_of_file(path: Path) -> tuple[str, str, Timeframe]:
    """(exchange, symbol, timeframe) of a file: from an ``exchange_SYMBOL_tf`` name, else the timeframe
    from the most common step between timestamps, with exchange ``file`` and the file's stem as symbol."""
    stem = path.name.split(".")[0]
    match = _FILE_NAME.match(stem)
    if match:
        try:
            return match["exchange"], match["symbol"], Timeframe.parse(match["timeframe"])
        except ValueError:
            pass
    try:
        ts = pd.read_csv(path, usecols=["timestamp"], nrows=10_000)["timestamp"].to_numpy()
    except (OSError, ValueError) as exc:
        raise ServiceError(f"{path}: cannot read timestamps to infer the timeframe: {exc}") from None
    steps, counts = np.unique(np.diff(ts), return_counts=True)
    step = int(steps[np.argmax(counts)]) if len(steps) else 0
    for tf in Timeframe:
        if tf.ms == step:
            return "file", re.sub(r"[^A-Za-z0-9-]", "-", stem), tf
    raise ServiceError(f"{path}: cannot infer the timeframe (most common step {step} ms); pass --timeframe")


def _synthetic(
    service: MarketDataService, symbol: str, timeframe: Timeframe, days: int, seed: int, *, end_ms: int | None = None
) -> ImportSummary:
    count = max(1, days * 86_400_000 // timeframe.ms)
    end = timeframe.bucket_start(time.time_ns() // 1_000_000 if end_ms is None else end_ms)
    market = SyntheticMarket(seed=seed, timeframe=timeframe, start_ms=end - count * timeframe.ms)
    frame = market.generate(count)
    series = SeriesKey(InstrumentId(SYNTHETIC_VENUE, symbol), timeframe)
    with service_errors():
        service.store.upsert_candles(series, frame)
    return ImportSummary(
        series=str(series),
        kind="candles",
        rows_read=len(frame),
        rows_before=0,
        rows_after=len(frame),
        first=frame.index[0],
        last=frame.index[-1],
    )


def prepare_market(
    service: MarketDataService,
    *,
    data: Path | None,
    symbol: str,
    timeframe: str | None,
    days: int,
    seed: int = 7,
    on_progress: Callable[[int, int], None] | None = None,
    synthetic: bool = False,
) -> PreparedMarket:
    """Load market data from ``data``, else Delta (unless ``synthetic``), else the synthetic market; store, check it."""
    if data is not None:
        exchange, file_symbol, tf = series_of_file(data)
        if timeframe is not None:
            tf = Timeframe.parse(timeframe)
        imported = service.import_file(data, exchange, file_symbol, tf.value, SeriesFileKind.CANDLES)
        source, label = MarketSource.FILE, f"file {data}"
        series = SeriesKey(InstrumentId(exchange, file_symbol), tf)
    elif synthetic:
        tf = Timeframe.parse(timeframe or "1h")
        imported = _synthetic(service, symbol, tf, days, seed, end_ms=SYNTHETIC_END_MS)
        source, label = MarketSource.SYNTHETIC, f"{SYNTHETIC_LABEL}; asked for, ending {SYNTHETIC_END}"
        series = SeriesKey(InstrumentId(SYNTHETIC_VENUE, symbol), tf)
    else:
        tf = Timeframe.parse(timeframe or "1h")
        try:
            imported = service.download(symbol, tf.value, days, on_progress=on_progress)
            source, label = MarketSource.DELTA, "Delta Exchange India public candles (live download)"
            series = SeriesKey(InstrumentId(DELTA_VENUE, symbol), tf)
        except ServiceError as exc:
            if not isinstance(exc.__cause__, ExchangeUnavailableError):
                raise
            imported = _synthetic(service, symbol, tf, days, seed)
            source, label = MarketSource.SYNTHETIC, f"{SYNTHETIC_LABEL}; Delta unreachable: {exc}"
            series = SeriesKey(InstrumentId(SYNTHETIC_VENUE, symbol), tf)
    frame = service.load_candles(series)
    return PreparedMarket(source, label, series, imported, service.check_frame(frame, tf), frame)


async def replay_market(
    market: PreparedMarket,
    cache: CandleCache,
    *,
    speed: float | None,
    limit: int | None,
    on_candle: Callable[[ReplayProgress], None],
) -> ReplayProgress:
    """Replay the last ``limit`` candles (all when ``None``) through the cache at ``speed`` x real time."""
    frame = market.frame if limit is None else market.frame.iloc[-limit:]
    feed = ReplayFeed({market.series: frame}, speed=speed)
    progress = ReplayProgress(total=feed.total)
    async for event in feed.events():
        cache.on_candle_closed(event)
        progress.update(event)
        on_candle(progress)
    return progress
