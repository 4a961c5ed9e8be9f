"""Run data-quality checks in order and collect one report."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from trading_agent.data.frames import OHLCV_COLUMNS
from trading_agent.data.quality.base import QualityCheck, QualityError
from trading_agent.data.quality.duplicates import DuplicateRemover
from trading_agent.data.quality.gaps import FillPolicy, MissingCandleHandler
from trading_agent.data.quality.outliers import OutlierAction, OutlierDetector
from trading_agent.data.quality.report import CheckResult, QualityReport, QualityResult
from trading_agent.data.quality.timestamps import TimestampValidator, UnalignedAction
from trading_agent.data.quality.volume import VolumeAnomalyDetector
from trading_agent.domain import Timeframe

__all__ = ["DataQualityPipeline", "default_pipeline"]


class DataQualityPipeline:
    """Runs ``checks`` one after another, each on the previous one's output frame.

    The input must be a candle frame: a ``DatetimeIndex`` without NaT and exactly the OHLCV
    columns (any numeric dtype; cast to float64). Anything else raises ``QualityError``, as does
    a check whose output row count disagrees with what it reported: no row disappears unreported.
    """

    def __init__(self, checks: Sequence[QualityCheck]) -> None:
        names = [check.name for check in checks]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"check names must be unique in a pipeline; repeated: {', '.join(repeated)}")
        self.checks = tuple(checks)

    def run(self, frame: pd.DataFrame, timeframe: Timeframe) -> QualityResult:
        """Check (and maybe clean) ``frame`` of ``timeframe`` candles; the input is not modified."""
        current = _candle_frame(frame)
        results: list[CheckResult] = []
        for check in self.checks:
            outcome = check.apply(current, timeframe)
            result = outcome.result
            expected = len(current) - result.rows_removed + result.rows_added
            if len(outcome.frame) != expected:
                raise QualityError(
                    f"check {check.name!r} returned {len(outcome.frame)} rows from {len(current)} but reported "
                    f"{result.rows_removed} removed and {result.rows_added} added"
                )
            current = outcome.frame
            results.append(result)
        report = QualityReport(timeframe=timeframe, rows_in=len(frame), rows_out=len(current), checks=tuple(results))
        return QualityResult(frame=current, report=report)


def default_pipeline(
    *,
    unaligned: UnalignedAction = UnalignedAction.DROP,
    fill: FillPolicy = FillPolicy.LEAVE,
    outlier_action: OutlierAction = OutlierAction.FLAG,
    return_z_threshold: float = 20.0,
    wick_z_threshold: float = 30.0,
    volume_spike_z_threshold: float = 5.0,
    max_examples: int = 50,
) -> DataQualityPipeline:
    """The standard order: timestamps, duplicates, outliers, volume, missing candles.

    Missing candles come last so that the detectors see only real candles (forward-filled ones
    have zero volume), and so that gaps left by dropped outliers are counted too.
    """
    return DataQualityPipeline(
        [
            TimestampValidator(unaligned, max_examples),
            DuplicateRemover(max_examples),
            OutlierDetector(return_z_threshold, wick_z_threshold, outlier_action, max_examples),
            VolumeAnomalyDetector(volume_spike_z_threshold, max_examples),
            MissingCandleHandler(fill, max_examples),
        ]
    )


def _candle_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise QualityError(f"not a candle frame: the index is a {type(frame.index).__name__}, not a DatetimeIndex")
    if frame.index.hasnans:
        raise QualityError("not a candle frame: the index has NaT open times")
    columns = list(frame.columns)
    if sorted(columns) != sorted(OHLCV_COLUMNS):
        raise QualityError(f"not a candle frame: columns are {columns}, expected exactly {list(OHLCV_COLUMNS)}")
    try:
        return frame[list(OHLCV_COLUMNS)].astype("float64")
    except (TypeError, ValueError) as exc:
        raise QualityError(f"not a candle frame: a column is not numeric ({exc})") from exc
