"""Repeated open times: identical copies dropped, conflicting versions resolved keep-last."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading_agent.data.frames import OHLCV_COLUMNS, index_ms
from trading_agent.data.quality.base import CheckOutcome, QualityCheck, require_increasing
from trading_agent.data.quality.report import CheckResult, JSONValue, Severity, utc_iso
from trading_agent.domain import Timeframe

__all__ = ["DuplicateRemover"]


class DuplicateRemover(QualityCheck):
    """Keeps one row per open time: the last one in input order.

    A repeated open time whose rows are all identical (NaN equal to NaN) loses its copies,
    counted in ``identical_rows_dropped``. One whose rows differ is a conflict: the last row wins,
    the others are counted in ``conflicting_rows_dropped``, and the first ``max_examples``
    conflicts are listed with every version (the last one kept). Needs sorted input;
    ``TimestampValidator`` sorts stably, so "last" still means last in the source.
    """

    name = "duplicates"

    def __init__(self, max_examples: int = 20) -> None:
        self.max_examples = max_examples

    def apply(self, frame: pd.DataFrame, timeframe: Timeframe) -> CheckOutcome:
        """Return the frame with one row per open time."""
        ts = index_ms(frame)
        require_increasing(ts, type(self).__name__, strict=False)
        is_last = np.ones(len(ts), dtype=bool)
        is_last[:-1] = ts[1:] != ts[:-1]
        kept = np.flatnonzero(is_last)
        dropped = ~is_last
        values = frame[list(OHLCV_COLUMNS)].to_numpy(dtype="float64")
        group = np.searchsorted(kept, np.arange(len(ts)))
        versus_kept = values[kept[group]]
        same = (values == versus_kept) | (np.isnan(values) & np.isnan(versus_kept))
        conflicts = np.unique(group[~same.all(axis=1)])
        in_conflict = np.isin(group, conflicts)
        identical = int(np.count_nonzero(dropped & ~in_conflict))
        conflicting = int(np.count_nonzero(dropped & in_conflict))
        action = "none"
        if identical or conflicting:
            action = (
                f"dropped {identical} identical copies; kept the last row of each of {len(conflicts)} "
                f"conflicting open times, dropping {conflicting} rows"
            )
        result = CheckResult(
            name=self.name,
            severity=Severity.WARNING if identical or conflicting else Severity.OK,
            action=action,
            metrics={
                "duplicate_timestamps": len(np.unique(group[dropped])),
                "identical_rows_dropped": identical,
                "conflicting_timestamps": len(conflicts),
                "conflicting_rows_dropped": conflicting,
            },
            examples=tuple(_versions(values, ts, np.flatnonzero(group == g)) for g in conflicts[: self.max_examples]),
            rows_removed=identical + conflicting,
        )
        return CheckOutcome(frame.iloc[kept], result)


def _versions(values: np.ndarray, ts: np.ndarray, rows: np.ndarray) -> dict[str, JSONValue]:
    versions: list[JSONValue] = [dict(zip(OHLCV_COLUMNS, map(float, values[r]), strict=True)) for r in rows]
    return {"time": utc_iso(int(ts[rows[0]])), "versions": versions, "kept": "last"}
