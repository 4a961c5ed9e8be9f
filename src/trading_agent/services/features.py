"""Feature use cases: describe a feature set, compute features of a stored series into a file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from trading_agent.domain import SeriesKey, Timeframe
from trading_agent.features import compute_features, feature_specs
from trading_agent.services.errors import ServiceError, service_errors
from trading_agent.services.files import check_table_path, write_table
from trading_agent.services.market_data import MarketDataService

__all__ = ["ComputedFeatures", "FeatureInfo", "FeatureService"]


class FeatureInfo(BaseModel):
    """One feature of a set: what the registry says about it."""

    name: str
    group: str
    warmup: int
    description: str
    params: dict[str, float | int | str]


class ComputedFeatures(BaseModel):
    """What ``compute`` wrote."""

    series: str
    rows: int
    columns: int
    path: str


class FeatureService:
    """Feature use cases over the market-data service."""

    def __init__(self, market_data: MarketDataService) -> None:
        self._market_data = market_data

    def list_features(self, feature_set: str = "default") -> list[FeatureInfo]:
        """Every feature of ``feature_set`` in column order."""
        try:
            specs = feature_specs(feature_set)
        except ValueError as exc:
            raise ServiceError(str(exc)) from exc
        return [
            FeatureInfo(name=s.name, group=s.group.value, warmup=s.warmup, description=s.description,
                        params=dict(s.params))
            for s in specs
        ]  # fmt: skip

    def compute(
        self, series: SeriesKey, out: Path, *, feature_set: str = "default", higher: Sequence[str] = ()
    ) -> ComputedFeatures:
        """Features of a stored (or on-the-fly resampled) series, written to ``out`` (.parquet, .csv, .csv.gz).

        The file appears only when complete: it is written beside ``out`` and renamed.
        """
        check_table_path(out)
        candles = self._market_data.load_candles(series)
        if candles.empty:
            raise ServiceError(f"no candles stored for {series} (see `trading-agent data list`)")
        with service_errors():
            try:
                higher_tfs = [Timeframe.parse(tf) for tf in higher]
                features = compute_features(candles, feature_set, higher_timeframes=higher_tfs)
            except ValueError as exc:
                raise ServiceError(str(exc)) from exc
        write_table(features, out)
        return ComputedFeatures(series=str(series), rows=len(features), columns=features.shape[1], path=str(out))
