"""Missing candles: gap events between consecutive rows, optionally filled with flat candles."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from trading_agent.data.frames import OHLCV_COLUMNS, frame_from_arrays, index_ms
from trading_agent.data.quality.base import CheckOutcome, QualityCheck, require_increasing
from trading_agent.data.quality.report import CheckResult, JSONValue, Severity, utc_iso
from trading_agent.data.resample import bucket_starts
from trading_agent.domain import Timeframe

__all__ = ["FillPolicy", "MissingCandleHandler"]


class FillPolicy(StrEnum):
    """What to put where candles are missing."""

    LEAVE = "leave"
    """Nothing (the default): never invent prices."""
    FORWARD_FILL = "forward_fill"
    """Flat candles at the previous close with zero volume, reported as filled."""


class MissingCandleHandler(QualityCheck):
    """Finds gap events (consecutive rows more than one bucket apart) and counts missing candles.

    Each gap is listed (up to ``max_examples``) as the last candle present, the next candle present
    and the number missing between them, the way ``shared/data/README.md`` lists them. Only gaps
    inside the frame are seen: missing candles before the first row or after the last are not.
    Run it after outlier and volume checks: forward-filled candles have zero volume by design.
    """

    name = "missing_candles"

    def __init__(self, fill: FillPolicy = FillPolicy.LEAVE, max_examples: int = 50) -> None:
        self.fill = FillPolicy(fill)
        self.max_examples = max_examples

    def apply(self, frame: pd.DataFrame, timeframe: Timeframe) -> CheckOutcome:
        """Return the frame unchanged (``leave``) or with every missing candle filled."""
        ts = index_ms(frame)
        require_increasing(ts, type(self).__name__, strict=True)
        buckets = bucket_starts(ts, timeframe)
        missing = np.diff(buckets) // timeframe.ms - 1
        gap_at = np.flatnonzero(missing > 0)
        counts = missing[gap_at]
        total = int(counts.sum())
        examples: tuple[dict[str, JSONValue], ...] = tuple(
            {"last_present": utc_iso(int(ts[i])), "next_present": utc_iso(int(ts[i + 1])), "missing": int(k)}
            for i, k in zip(gap_at[: self.max_examples], counts[: self.max_examples], strict=True)
        )
        filling = self.fill is FillPolicy.FORWARD_FILL and total > 0
        out = (
            _forward_filled(frame, gap_at, counts, after_ms=buckets[gap_at], step_ms=timeframe.ms) if filling else frame
        )
        if filling:
            action = f"forward-filled {total} candles in {len(gap_at)} gaps (flat at the previous close, zero volume)"
        else:
            action = f"left {len(gap_at)} gaps unfilled" if total else "none"
        result = CheckResult(
            name=self.name,
            severity=Severity.WARNING if total else Severity.OK,
            action=action,
            metrics={
                "gap_events": len(gap_at),
                "missing_candles": total,
                "largest_gap": int(counts.max()) if len(counts) else 0,
                "filled": total if filling else 0,
            },
            examples=examples,
            rows_added=total if filling else 0,
        )
        return CheckOutcome(out, result)


def _forward_filled(
    frame: pd.DataFrame, gap_at: np.ndarray, counts: np.ndarray, *, after_ms: np.ndarray, step_ms: int
) -> pd.DataFrame:
    first_new = np.cumsum(counts) - counts
    step = np.arange(int(counts.sum())) - np.repeat(first_new, counts) + 1
    new_ts = np.repeat(after_ms, counts) + step * step_ms
    close = frame["close"].to_numpy(dtype="float64")
    price = np.repeat(close[gap_at], counts)
    new_columns = {"open": price, "high": price, "low": price, "close": price, "volume": np.zeros(len(price))}
    all_ts = np.concatenate((index_ms(frame), new_ts))
    order = np.argsort(all_ts, kind="stable")
    columns = {c: np.concatenate((frame[c].to_numpy(dtype="float64"), new_columns[c]))[order] for c in OHLCV_COLUMNS}
    return frame_from_arrays(all_ts[order], columns)
