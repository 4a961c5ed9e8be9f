"""The batch path: every feature of a set over a whole candle frame, optionally with higher timeframes and sentiment."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from trading_agent.data.frames import frame_from_arrays, index_ms
from trading_agent.data.resample import resample_candles
from trading_agent.domain import Timeframe
from trading_agent.features.bars import Bars, FeatureInputError
from trading_agent.features.registry import build_indicators, feature_specs
from trading_agent.features.sentiment import sentiment_features
from trading_agent.features.timeframes import base_timeframe, check_higher, suffixed, visible_rows

__all__ = ["compute_features"]


def _columns(bars: Bars, feature_set: str, timeframe: Timeframe | None) -> dict[str, np.ndarray]:
    # TA-Lib and numpy release the GIL, so independent indicators run side by side on every core.
    indicators = build_indicators(feature_set, timeframe)
    with ThreadPoolExecutor(max_workers=min(len(indicators), os.cpu_count() or 1) or 1) as pool:
        results = list(pool.map(lambda indicator: indicator.batch(bars), indicators))
    columns: dict[str, np.ndarray] = {}
    for indicator, values in zip(indicators, results, strict=True):
        for spec, array in zip(indicator.specs, values, strict=True):
            columns[spec.name] = np.asarray(array, dtype="float64")
    return columns


def compute_features(
    candles: pd.DataFrame,
    feature_set: str = "default",
    higher_timeframes: Sequence[Timeframe | str] = (),
    timeframe: Timeframe | str | None = None,
    *,
    sentiment: pd.DataFrame | None = None,
    sentiment_windows: Sequence[int] = (24, 168),
) -> pd.DataFrame:
    """Features of ``candles`` (a candle frame), indexed like it, one column per feature, NaN in warm-up.

    Windows count candles, not clock time: across a gap in the data an indicator simply continues
    with the next candle present (the data-quality report shows the gaps). With
    ``higher_timeframes`` the same feature set is computed on each higher timeframe and joined as
    ``<name>@<tf>`` from the base candle on which the higher candle has closed; never earlier.
    ``timeframe`` (the candles' length) is inferred from their most common step when not given; it
    sizes windows defined in clock time. With ``sentiment`` (scores on a UTC index of publication times,
    see ``features.sentiment``) the ``sent_*`` columns over ``sentiment_windows`` are appended, from the
    items public at each candle's close; for the models an empty window's mean and the score before
    the first item read as neutral (0), the count columns saying there was nothing.
    Raises ``FeatureInputError`` for unsorted or duplicated times,
    a non-UTC index, missing columns, a non-finite or non-positive price, a negative volume, or
    candles whose step is not a supported timeframe.
    """
    bars = Bars.from_frame(candles)
    base = Timeframe.parse(timeframe) if isinstance(timeframe, str) else timeframe
    if base is None and len(bars) >= 2:
        base = base_timeframe(bars.ts)
    columns = _columns(bars, feature_set, base)
    higher = tuple(tf if isinstance(tf, Timeframe) else Timeframe.parse(tf) for tf in higher_timeframes)
    if higher:
        if base is None:
            raise FeatureInputError("higher timeframes need at least two candles")
        check_higher(base, higher)
        base_close = bars.ts + base.ms
        for higher_tf in higher:
            higher_candles = resample_candles(candles, base, higher_tf)
            if higher_candles.empty:
                higher_columns = {spec.name: np.empty(0) for spec in feature_specs(feature_set, higher_tf)}
            else:
                higher_columns = _columns(Bars.from_frame(higher_candles), feature_set, higher_tf)
            higher_open = index_ms(higher_candles)
            rows = visible_rows(higher_open, higher_tf, base_close)
            for name, values in higher_columns.items():
                joined = np.full(len(bars), np.nan)
                seen = rows >= 0
                joined[seen] = values[rows[seen]]
                columns[suffixed(name, higher_tf)] = joined
    frame = frame_from_arrays(bars.ts, columns)
    if sentiment is None:
        return frame
    if base is None:
        raise FeatureInputError("sentiment features need the candles' timeframe")
    mood = sentiment_features(pd.DatetimeIndex(frame.index), base, sentiment, sentiment_windows)
    return pd.concat([frame, mood.fillna(0.0)], axis=1)
