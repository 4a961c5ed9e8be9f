"""The batch path: every feature of a set over a whole candle frame, optionally with higher timeframes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from trading_agent.data.frames import frame_from_arrays, index_ms
from trading_agent.data.resample import resample_candles
from trading_agent.domain import Timeframe
from trading_agent.features.bars import Bars
from trading_agent.features.registry import build_indicators, feature_specs
from trading_agent.features.timeframes import base_timeframe, check_higher, suffixed, visible_rows

__all__ = ["compute_features"]


def _columns(bars: Bars, feature_set: str) -> dict[str, np.ndarray]:
    # TA-Lib and numpy release the GIL, so independent indicators run side by side on every core.
    indicators = build_indicators(feature_set)
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
) -> pd.DataFrame:
    """Features of ``candles`` (a candle frame), indexed like it, one column per feature, NaN in warm-up.

    Windows count candles, not clock time: across a gap in the data an indicator simply continues
    with the next candle present (the data-quality report shows the gaps). With
    ``higher_timeframes`` the same feature set is computed on each higher timeframe and joined as
    ``<name>@<tf>`` from the base candle on which the higher candle has closed; never earlier.
    Raises ``FeatureInputError`` for unsorted or duplicated times, a non-UTC index, missing columns
    or a non-finite value.
    """
    bars = Bars.from_frame(candles)
    columns = _columns(bars, feature_set)
    higher = tuple(tf if isinstance(tf, Timeframe) else Timeframe.parse(tf) for tf in higher_timeframes)
    if higher:
        base = base_timeframe(bars.ts)
        check_higher(base, higher)
        base_close = bars.ts + base.ms
        for timeframe in higher:
            higher_candles = resample_candles(candles, base, timeframe)
            if higher_candles.empty:
                higher_columns = {spec.name: np.empty(0) for spec in feature_specs(feature_set)}
            else:
                higher_columns = _columns(Bars.from_frame(higher_candles), feature_set)
            higher_open = index_ms(higher_candles)
            rows = visible_rows(higher_open, timeframe, base_close)
            for name, values in higher_columns.items():
                joined = np.full(len(bars), np.nan)
                seen = rows >= 0
                joined[seen] = values[rows[seen]]
                columns[suffixed(name, timeframe)] = joined
    return frame_from_arrays(bars.ts, columns)
