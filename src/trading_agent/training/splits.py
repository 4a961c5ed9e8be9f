"""Purged and embargoed walk-forward splits, in time (so one config fits every timeframe).

Each split is train -> embargo -> validation -> embargo -> test, consecutive in time. The test
windows end at the data end and step back by ``step_days``: the LAST ``n_splits`` windows that fit
are returned (oldest first), so the most recent data is always tested. Rolling windows have a fixed
train length; anchored ones start training at the first sample.

Purging: a train sample whose label is decided at or after the validation start, and a validation
sample whose label is decided at or after the test start, are dropped (their label interval
``[open, label_end]`` overlaps the later window). Embargo: in forward walk-forward training always
precedes test, so the embargo is a gap of ``embargo_days`` between train end and validation start
and between validation end and test start; no sample opening inside a gap is used.

Unknown labels (``label_end`` NaN or negative) are excluded from train and validation; test keeps
every row of its window (the caller drops unknown labels when scoring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DAY_MS", "Split", "WalkForwardConfig", "final_split", "label_end_times", "purged_walk_forward"]

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class WalkForwardConfig:
    """Window lengths in days; ``embargo_days`` defaults to one day (>= a 24-bar 1h label horizon)."""

    train_days: float = 180
    validation_days: float = 30
    test_days: float = 30
    step_days: float = 7
    n_splits: int = 12
    embargo_days: float = 1.0
    anchored: bool = False

    def __post_init__(self) -> None:
        for name in ("train_days", "validation_days", "test_days", "step_days", "n_splits"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not self.embargo_days >= 0:
            raise ValueError(f"embargo_days must be >= 0, got {self.embargo_days!r}")


@dataclass(frozen=True, slots=True)
class Split:
    """Row indices of one split and its window bounds (epoch ms, start inclusive, end exclusive)."""

    index: int
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    train_start_ms: int
    train_end_ms: int
    validation_start_ms: int
    validation_end_ms: int
    test_start_ms: int
    test_end_ms: int


def label_end_times(open_ms: np.ndarray, end_index: np.ndarray, timeframe_ms: int) -> np.ndarray:
    """Close time of each label's decision bar (``open_ms[end] + timeframe_ms``); -1 where ``end`` is -1."""
    open_ms = np.asarray(open_ms, dtype="int64")
    end_index = np.asarray(end_index, dtype="int64")
    out = np.full(end_index.shape, -1, dtype="int64")
    known = end_index >= 0
    out[known] = open_ms[end_index[known]] + timeframe_ms
    return out


def purged_walk_forward(open_ms: np.ndarray, label_end_ms: np.ndarray, config: WalkForwardConfig) -> list[Split]:
    """The last ``config.n_splits`` purged, embargoed splits that fit (see the module docstring)."""
    open_ms = np.asarray(open_ms, dtype="int64")
    label_end = np.asarray(label_end_ms, dtype="float64")
    if open_ms.shape != label_end.shape or open_ms.ndim != 1:
        raise ValueError("open_ms and label_end_ms must be 1-d arrays of the same length")
    if open_ms.size < 2 or np.any(np.diff(open_ms) <= 0):
        raise ValueError("open_ms must hold at least two strictly increasing times")
    bar_ms = int(np.min(np.diff(open_ms)))
    data_start, data_end = int(open_ms[0]), int(open_ms[-1]) + bar_ms
    known = np.isfinite(label_end) & (label_end >= 0)
    train_ms, val_ms, test_ms = (
        round(d * DAY_MS) for d in (config.train_days, config.validation_days, config.test_days)
    )
    step_ms, gap_ms = round(config.step_days * DAY_MS), round(config.embargo_days * DAY_MS)
    bounds = []
    for k in range(config.n_splits):
        test_end = data_end - k * step_ms
        test_start = test_end - test_ms
        val_end = test_start - gap_ms
        val_start = val_end - val_ms
        train_end = val_start - gap_ms
        train_start = data_start if config.anchored else train_end - train_ms
        if train_end - train_ms < data_start:
            break
        bounds.append((train_start, train_end, val_start, val_end, test_start, test_end))
    if not bounds:
        span_days = (data_end - data_start) / DAY_MS
        raise ValueError(f"no walk-forward window fits in {span_days:.1f} days of data: {config}")

    return [_split(i, b, open_ms, label_end, known) for i, b in enumerate(reversed(bounds))]


def final_split(open_ms: np.ndarray, label_end_ms: np.ndarray, config: WalkForwardConfig) -> Split:
    """The split that trains the model to deploy: train and validation windows ending at the data end, no test.

    The same window lengths, purging and embargo as ``purged_walk_forward``; the validation window
    ends at the last sample, so the deployed model has seen everything up to now that its purged
    label horizon allows. Its quality is what the walk-forward splits measured of the same procedure.
    """
    open_ms = np.asarray(open_ms, dtype="int64")
    label_end = np.asarray(label_end_ms, dtype="float64")
    if open_ms.size < 2:
        raise ValueError("open_ms must hold at least two times")
    bar_ms = int(np.min(np.diff(open_ms)))
    data_start, data_end = int(open_ms[0]), int(open_ms[-1]) + bar_ms
    val_ms, train_ms = round(config.validation_days * DAY_MS), round(config.train_days * DAY_MS)
    gap_ms = round(config.embargo_days * DAY_MS)
    val_start = data_end - val_ms
    train_end = val_start - gap_ms
    if train_end - train_ms < data_start:
        raise ValueError(f"the final training window does not fit in the data: {config}")
    train_start = data_start if config.anchored else train_end - train_ms
    known = np.isfinite(label_end) & (label_end >= 0)
    return _split(-1, (train_start, train_end, val_start, data_end, data_end, data_end), open_ms, label_end, known)


def _split(
    index: int,
    bounds: tuple[int, int, int, int, int, int],
    open_ms: np.ndarray,
    label_end: np.ndarray,
    known: np.ndarray,
) -> Split:
    """The purged rows of one split's windows (see the module docstring)."""
    ts, te, vs, ve, ss, se = bounds

    def rows(lo: int, hi: int) -> np.ndarray:
        return (open_ms >= lo) & (open_ms < hi)

    train = np.flatnonzero(rows(ts, te) & known & (label_end < vs))
    validation = np.flatnonzero(rows(vs, ve) & known & (label_end < ss))
    test = np.flatnonzero(rows(ss, se))
    return Split(index, train, validation, test, ts, te, vs, ve, ss, se)
