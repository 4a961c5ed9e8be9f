"""The data-quality pipeline: small checks, each with one job, and one report of what they did.

``default_pipeline().run(frame, timeframe)`` returns a ``QualityResult``: the (possibly cleaned)
candle frame and a ``QualityReport`` with, per check, what it found (counts and examples), what
it did, and a severity. Nothing is dropped, moved or invented without being counted. Defaults
never invent prices: gaps are left as they are and outliers are flagged, not removed.
"""

from trading_agent.data.quality.base import CheckOutcome, QualityCheck, QualityError
from trading_agent.data.quality.duplicates import DuplicateRemover
from trading_agent.data.quality.gaps import FillPolicy, MissingCandleHandler
from trading_agent.data.quality.outliers import OutlierAction, OutlierDetector
from trading_agent.data.quality.pipeline import DataQualityPipeline, default_pipeline
from trading_agent.data.quality.report import CheckResult, QualityReport, QualityResult, Severity
from trading_agent.data.quality.robust import robust_zscore
from trading_agent.data.quality.timestamps import TimestampValidator, UnalignedAction
from trading_agent.data.quality.volume import VolumeAnomalyDetector

__all__ = [
    "CheckOutcome",
    "CheckResult",
    "DataQualityPipeline",
    "DuplicateRemover",
    "FillPolicy",
    "MissingCandleHandler",
    "OutlierAction",
    "OutlierDetector",
    "QualityCheck",
    "QualityError",
    "QualityReport",
    "QualityResult",
    "Severity",
    "TimestampValidator",
    "UnalignedAction",
    "VolumeAnomalyDetector",
    "default_pipeline",
    "robust_zscore",
]
