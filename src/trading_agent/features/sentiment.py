"""Sentiment features per candle, from items counted only once they were public.

The rule (the same as for higher timeframes, ``features/timeframes.py``): a candle's features are
known at its CLOSE (open + timeframe), so they may use only items published at or before that
instant. An item stamped exactly at the close counts; one stamped a millisecond later waits for the
next candle. Windows are in candles of the given timeframe but measured in clock time, so a window of
``w`` candles holds the items published in ``(close - w * timeframe, close]`` whatever gaps the
candles have, and it only grows by items that are already public: recomputing on scores truncated at
any time T changes no candle that closes at or before T.

Columns (``prefix`` defaults to ``sent``): ``<prefix>_mean_<w>`` (NaN when the window is empty) and
``<prefix>_count_<w>`` (0 when empty) per window, and ``<prefix>_last``, the score of the most recent
item published by the close (NaN before the first one). Items with the same time keep the order of the
frame, so "last" is the frame's last among them.

This module takes the scores frame as an argument (see ``trading_agent.data.sentiment`` for the
sources): the features layer does no I/O. ``compute_features(..., sentiment=scores)`` joins these
columns to the feature rows (an empty window read as neutral there), and the training set takes them
from ``sentiment.headlines`` of ``config/training.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trading_agent.domain import Timeframe
from trading_agent.features.bars import FeatureInputError

__all__ = ["sentiment_feature_names", "sentiment_features"]


def sentiment_feature_names(windows: Sequence[int] = (24, 168), prefix: str = "sent") -> list[str]:
    """The columns ``sentiment_features`` returns for these windows, in order."""
    names = [f"{prefix}_{kind}_{w}" for w in windows for kind in ("mean", "count")]
    return [*names, f"{prefix}_last"]


def _epoch_ms(index: pd.Index, what: str) -> np.ndarray:
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise FeatureInputError(f"{what} need a UTC DatetimeIndex")
    return np.asarray(index.tz_convert("UTC").as_unit("ms").asi8, dtype="int64")


def _checked_scores(scores: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Publication times (epoch ms, sorted, stable) and scores of a validated scores frame."""
    if "score" not in scores.columns:
        raise FeatureInputError("sentiment scores lack the column 'score'")
    ts = _epoch_ms(scores.index, "sentiment scores")
    values = scores["score"].to_numpy(dtype="float64", na_value=np.nan)
    bad = ~(np.abs(values) <= 1)
    if bad.any():
        row = int(np.argmax(bad))
        raise FeatureInputError(f"sentiment score at {scores.index[row]} is {float(values[row])!r}, not in [-1, 1]")
    order = np.argsort(ts, kind="stable")
    return ts[order], values[order]


def sentiment_features(
    candles_index: pd.DatetimeIndex,
    timeframe: Timeframe,
    scores: pd.DataFrame,
    windows: Sequence[int] = (24, 168),
    prefix: str = "sent",
) -> pd.DataFrame:
    """Per candle (open times, UTC), sentiment over items published at or before the candle's close.

    ``scores`` is a frame on a UTC index of publication times with a ``score`` column in [-1, 1]
    (any order). ``windows`` are lengths in candles of ``timeframe``. Raises ``FeatureInputError``
    for a non-UTC index, candle times that are not strictly increasing, a score outside [-1, 1] or NaN,
    or a window that is not a positive whole number of candles.
    """
    open_ms = _epoch_ms(candles_index, "candles")
    if (np.diff(open_ms) <= 0).any():
        raise FeatureInputError("candle times must be strictly increasing (sort and de-duplicate)")
    whole = all(isinstance(w, int | np.integer) and w > 0 for w in windows)
    if not windows or not whole or len(set(windows)) < len(windows):
        raise FeatureInputError(f"windows must be distinct positive numbers of candles, got {tuple(windows)}")
    ts, values = _checked_scores(scores)
    close_ms = open_ms + timeframe.ms
    prefix_sums = np.concatenate(([0.0], np.cumsum(values)))
    seen = np.searchsorted(ts, close_ms, side="right")  # items published at or before each close
    columns: dict[str, np.ndarray] = {}
    for w in windows:
        before = np.searchsorted(ts, close_ms - int(w) * timeframe.ms, side="right")
        count = seen - before
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (prefix_sums[seen] - prefix_sums[before]) / count
        # A difference of prefix sums can round a hair past ±1; clip keeps the documented range.
        columns[f"{prefix}_mean_{w}"] = np.where(count > 0, np.clip(mean, -1.0, 1.0), np.nan)
        columns[f"{prefix}_count_{w}"] = count.astype("float64")
    last = np.full(len(open_ms), np.nan)
    any_seen = seen > 0
    last[any_seen] = values[seen[any_seen] - 1]
    columns[f"{prefix}_last"] = last
    return pd.DataFrame(columns, index=candles_index)
