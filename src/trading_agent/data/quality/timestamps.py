"""Open times: UTC, in order, on the timeframe grid."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import numpy as np
import pandas as pd

from trading_agent.data.quality.base import CheckOutcome, QualityCheck
from trading_agent.data.quality.report import CheckResult, JSONValue, Severity, utc_iso
from trading_agent.domain import Timeframe

__all__ = ["TimestampValidator", "UnalignedAction"]

_NS_PER_MS = 1_000_000


class UnalignedAction(StrEnum):
    """What to do with a row whose open time is off the timeframe grid."""

    DROP = "drop"
    """Remove it (the default: downstream code such as resampling needs the grid)."""
    FLOOR = "floor"
    """Move it to the open time of its bucket; a clash with an existing row is then a duplicate."""
    KEEP = "keep"
    """Leave it and report ``error``: the frame then breaks the candle-frame contract."""


class TimestampValidator(QualityCheck):
    """Makes the index UTC, sorts rows by open time (stable) and handles off-grid open times.

    Reports how many rows sorting moved, how many open times repeat (``DuplicateRemover``
    resolves those) and every unaligned row (first ``max_examples`` in detail). A naive index is
    read as UTC; another time zone is converted (same instants). Sub-millisecond open times count
    as unaligned.
    """

    name = "timestamps"

    def __init__(self, unaligned: UnalignedAction = UnalignedAction.DROP, max_examples: int = 20) -> None:
        self.unaligned = UnalignedAction(unaligned)
        self.max_examples = max_examples

    def apply(self, frame: pd.DataFrame, timeframe: Timeframe) -> CheckOutcome:
        """Return the frame sorted, in UTC, with unaligned rows handled as configured."""
        index = pd.DatetimeIndex(frame.index)
        zone = "naive (read as UTC)" if index.tz is None else str(index.tz)
        utc = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        ns = np.asarray(utc.as_unit("ns").asi8, dtype="int64")
        order = np.argsort(ns, kind="stable")
        reordered = int(np.count_nonzero(order != np.arange(len(order))))
        ns = ns[order]
        period_ns, offset_ns = timeframe.ms * _NS_PER_MS, timeframe.offset_ms * _NS_PER_MS
        remainder = (ns - offset_ns) % period_ns
        off_grid = np.flatnonzero(remainder)
        examples: list[dict[str, JSONValue]] = [
            {
                "time": pd.Timestamp(int(ns[i]), tz="UTC").isoformat(),
                "grid_time": utc_iso((ns[i] - remainder[i]) // _NS_PER_MS),
            }
            for i in off_grid[: self.max_examples]
        ]
        rows = order
        removed = changed = 0
        if len(off_grid) and self.unaligned is UnalignedAction.DROP:
            keep = remainder == 0
            rows, ns, removed = rows[keep], ns[keep], len(off_grid)
        elif len(off_grid) and self.unaligned is UnalignedAction.FLOOR:
            ns = ns - remainder
            refloored = np.argsort(ns, kind="stable")
            rows, ns, changed = rows[refloored], ns[refloored], len(off_grid)
        repeated = int(np.count_nonzero(ns[1:] == ns[:-1]))
        unit: Literal["ns", "ms"] = "ns" if np.any(ns % _NS_PER_MS) else "ms"
        out = frame.iloc[rows].set_axis(
            pd.DatetimeIndex(ns.view("datetime64[ns]"), name="time").tz_localize("UTC").as_unit(unit)
        )
        result = CheckResult(
            name=self.name,
            severity=self._severity(zone, reordered, len(off_grid), repeated),
            action=self._action(zone, reordered, len(off_grid), timeframe),
            metrics={
                "rows": len(frame),
                "timezone": zone,
                "rows_reordered": reordered,
                "unaligned": len(off_grid),
                "repeated_timestamps": repeated,
            },
            examples=tuple(examples),
            rows_removed=removed,
            rows_changed=changed,
        )
        return CheckOutcome(out, result)

    def _severity(self, zone: str, reordered: int, unaligned: int, repeated: int) -> Severity:
        if unaligned and self.unaligned is UnalignedAction.KEEP:
            return Severity.ERROR
        if zone != "UTC" or reordered or unaligned or repeated:
            return Severity.WARNING
        return Severity.OK

    def _action(self, zone: str, reordered: int, unaligned: int, timeframe: Timeframe) -> str:
        done = []
        if zone != "UTC":
            done.append(f"converted the {zone} index to UTC")
        if reordered:
            done.append(f"sorted {reordered} rows into time order")
        if unaligned:
            verb = {
                UnalignedAction.DROP: "dropped",
                UnalignedAction.FLOOR: "moved to their bucket's open time",
                UnalignedAction.KEEP: "kept (frame is NOT on the grid)",
            }[self.unaligned]
            done.append(f"{unaligned} rows off the {timeframe} grid {verb}")
        return "; ".join(done) or "none"
