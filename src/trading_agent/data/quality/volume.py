"""Volume anomalies: zero-volume candles and volume spikes (robust z-score of log volume)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading_agent.data.frames import index_ms
from trading_agent.data.quality.base import CheckOutcome, QualityCheck
from trading_agent.data.quality.report import CheckResult, JSONValue, Severity, utc_iso
from trading_agent.data.quality.robust import robust_zscore
from trading_agent.domain import Timeframe

__all__ = ["VolumeAnomalyDetector"]


class VolumeAnomalyDetector(QualityCheck):
    """Flags (never changes) candles with zero, invalid (negative or NaN) or spiking volume.

    A spike is a positive volume whose log has robust z-score above ``spike_z_threshold``
    (only the high side: thin volume is not an anomaly). Zero-volume candles often mark exchange
    maintenance; the examples list them first, then invalid ones, then spikes, each up to
    ``max_examples``.
    """

    name = "volume"

    def __init__(self, spike_z_threshold: float = 5.0, max_examples: int = 20) -> None:
        if spike_z_threshold <= 0:
            raise ValueError("spike_z_threshold must be positive")
        self.spike_z_threshold = spike_z_threshold
        self.max_examples = max_examples

    def apply(self, frame: pd.DataFrame, timeframe: Timeframe) -> CheckOutcome:
        """Return the frame unchanged; the result lists the anomalous candles."""
        volume = frame["volume"].to_numpy(dtype="float64")
        ts = index_ms(frame)
        zero = volume == 0
        invalid = ~np.isfinite(volume) | (volume < 0)
        positive = np.isfinite(volume) & (volume > 0)
        log_volume = np.full(len(volume), np.nan)
        log_volume[positive] = np.log(volume[positive])
        z = robust_zscore(log_volume)
        spike = z > self.spike_z_threshold
        examples: list[dict[str, JSONValue]] = []
        for kind, mask in (("zero_volume", zero), ("invalid_volume", invalid), ("spike", spike)):
            for i in np.flatnonzero(mask)[: self.max_examples]:
                example: dict[str, JSONValue] = {"time": utc_iso(int(ts[i])), "kind": kind}
                if kind == "spike":
                    example |= {"volume": float(volume[i]), "z": round(float(z[i]), 2)}
                examples.append(example)
        flagged = np.flatnonzero(zero | invalid | spike)
        result = CheckResult(
            name=self.name,
            severity=Severity.WARNING if len(flagged) else Severity.OK,
            action=f"flagged {len(flagged)} rows, kept them" if len(flagged) else "none",
            metrics={
                "zero_volume": int(zero.sum()),
                "invalid_volume": int(invalid.sum()),
                "volume_spikes": int(spike.sum()),
                "spike_z_threshold": self.spike_z_threshold,
            },
            examples=tuple(examples),
            flagged_ms=tuple(int(t) for t in ts[flagged]),
        )
        return CheckOutcome(frame, result)
