"""Price outliers: impossible candles, extreme returns and extreme wicks by robust z-score."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from trading_agent.data.frames import index_ms
from trading_agent.data.quality.base import CheckOutcome, QualityCheck
from trading_agent.data.quality.report import CheckResult, JSONValue, Severity, utc_iso
from trading_agent.data.quality.robust import robust_zscore
from trading_agent.domain import Timeframe

__all__ = ["OutlierAction", "OutlierDetector"]


class OutlierAction(StrEnum):
    """What to do with a row found to be an outlier."""

    FLAG = "flag"
    """Keep it and list it in the report (the default)."""
    DROP = "drop"
    """Remove it. Real crashes are outliers too: drop only data you know to be bad ticks."""


class OutlierDetector(QualityCheck):
    """Flags candles whose prices look wrong.

    Three findings per row, each counted separately:

    * ``invalid_ohlc``: a price that is not finite and positive, or a high/low that does not bound
      open and close;
    * ``return_outliers``: the log return from the previous close has ``|robust z| >
      return_z_threshold``. A single bad close shows twice: on its own row and on the next row,
      whose return swings back;
    * ``wick_outliers``: the upper wick ``log(high / max(open, close))`` or lower wick
      ``log(min(open, close) / low)`` has ``robust z > wick_z_threshold``.

    The scores are global (median and MAD over the whole frame), so calm and wild periods share one
    yardstick; crypto returns are fat-tailed, hence the high default thresholds.
    """

    name = "outliers"

    def __init__(
        self,
        return_z_threshold: float = 20.0,
        wick_z_threshold: float = 30.0,
        action: OutlierAction = OutlierAction.FLAG,
        max_examples: int = 20,
    ) -> None:
        if return_z_threshold <= 0 or wick_z_threshold <= 0:
            raise ValueError("outlier thresholds must be positive")
        self.return_z_threshold = return_z_threshold
        self.wick_z_threshold = wick_z_threshold
        self.action = OutlierAction(action)
        self.max_examples = max_examples

    def apply(self, frame: pd.DataFrame, timeframe: Timeframe) -> CheckOutcome:
        """Return the frame unchanged (``flag``) or without the outlier rows (``drop``)."""
        o, h, low, c = (frame[name].to_numpy(dtype="float64") for name in ("open", "high", "low", "close"))
        prices = np.stack((o, h, low, c))
        with np.errstate(invalid="ignore"):
            invalid = ~(np.isfinite(prices).all(axis=0) & (prices > 0).all(axis=0))
            invalid |= (h < np.maximum(o, c)) | (low > np.minimum(o, c))
        valid = ~invalid
        log_close = np.where(valid, np.log(np.where(valid, c, 1.0)), np.nan)
        returns = np.full(len(c), np.nan)
        returns[1:] = np.diff(log_close)
        return_z = robust_zscore(returns)
        body_top, body_bottom = np.maximum(o, c), np.minimum(o, c)
        with np.errstate(invalid="ignore", divide="ignore"):
            upper = np.where(valid, np.log(h / body_top), np.nan)
            lower = np.where(valid, np.log(body_bottom / low), np.nan)
        wick_z = np.fmax(robust_zscore(upper), robust_zscore(lower))
        return_out = np.abs(return_z) > self.return_z_threshold
        wick_out = wick_z > self.wick_z_threshold
        flagged = invalid | return_out | wick_out
        rows = np.flatnonzero(flagged)
        ts = index_ms(frame)
        examples = tuple(
            _example(int(ts[i]), bool(invalid[i]), float(return_z[i]), float(wick_z[i]), float(c[i]))
            for i in rows[: self.max_examples]
        )
        dropping = self.action is OutlierAction.DROP
        if not len(rows):
            action = "none"
        elif dropping:
            action = f"dropped {len(rows)} outlier rows"
        else:
            action = f"flagged {len(rows)} rows, kept them"
        result = CheckResult(
            name=self.name,
            severity=Severity.WARNING if len(rows) else Severity.OK,
            action=action,
            metrics={
                "invalid_ohlc": int(invalid.sum()),
                "return_outliers": int(return_out.sum()),
                "wick_outliers": int(wick_out.sum()),
                "flagged_rows": len(rows),
                "return_z_threshold": self.return_z_threshold,
                "wick_z_threshold": self.wick_z_threshold,
            },
            examples=examples,
            rows_removed=len(rows) if dropping else 0,
            flagged_ms=() if dropping else tuple(int(t) for t in ts[rows]),
        )
        return CheckOutcome(frame.iloc[np.flatnonzero(~flagged)] if dropping else frame, result)


def _example(ts: int, invalid: bool, return_z: float, wick_z: float, close: float) -> dict[str, JSONValue]:
    def finite(x: float) -> float | None:
        return round(x, 2) if np.isfinite(x) else None

    return {
        "time": utc_iso(ts),
        "invalid_ohlc": invalid,
        "return_z": finite(return_z),
        "wick_z": finite(wick_z),
        "close": close if np.isfinite(close) else None,
    }
