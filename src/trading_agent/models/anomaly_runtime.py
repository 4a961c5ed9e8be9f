"""A fitted anomaly detector served by ONNX Runtime: scores and flags feature rows without loading torch.

``OnnxAnomalyScorer.from_detector`` exports a fitted ``VAEAnomalyDetector`` (``anomaly.to_onnx``, the
scaler inside the graph); ``save(dir)`` writes ``model.onnx`` and the detector's ``detector.json``
(threshold, feature names, parameters), ``load(dir)`` reads them back. Its scores equal the
detector's within float32 rounding (a test checks it). A detector may read a subset of the
ensemble's features (the candlestick flags dominate its score otherwise, see docs/models.md):
``columns(feature_names)`` picks its columns out of the ensemble's rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np

from trading_agent.models.anomaly import DETECTOR_FILE, FAMILY, AnomalyMetadata, VAEAnomalyDetector, to_onnx
from trading_agent.models.base import ModelInputError
from trading_agent.models.onnx_runtime import ONNX_FILE, cpu_session

__all__ = ["OnnxAnomalyScorer"]


class OnnxAnomalyScorer:
    """``score(X)`` and ``is_anomaly(X)`` of an exported detector; ``threshold`` is the detector's."""

    def __init__(self, onnx_model: bytes, metadata: AnomalyMetadata) -> None:
        self._bytes = onnx_model
        self._metadata = metadata
        self._session = cpu_session(onnx_model)
        self._input = self._session.get_inputs()[0].name

    @classmethod
    def from_detector(cls, detector: VAEAnomalyDetector) -> Self:
        """The ONNX export of a fitted ``detector``."""
        return cls(to_onnx(detector), detector.metadata)

    @property
    def metadata(self) -> AnomalyMetadata:
        """The detector's metadata (feature names, threshold, parameters)."""
        return self._metadata

    @property
    def threshold(self) -> float:
        """Rows scoring above it are anomalous."""
        return self._metadata.threshold

    def columns(self, feature_names: Sequence[str]) -> np.ndarray:
        """The positions of the detector's features in rows whose columns are ``feature_names``."""
        where = {name: i for i, name in enumerate(feature_names)}
        missing = [name for name in self._metadata.feature_names if name not in where]
        if missing:
            raise ModelInputError(f"the anomaly detector reads features the rows lack: {', '.join(missing[:5])}")
        return np.array([where[name] for name in self._metadata.feature_names], dtype=np.intp)

    def score(self, X: np.ndarray) -> np.ndarray:
        """The anomaly score of each row of ``X`` (``(n, n_features)``, raw feature values), as float64."""
        rows = np.ascontiguousarray(X, dtype=np.float32)
        n_features = len(self._metadata.feature_names)
        if rows.ndim != 2 or rows.shape[1] != n_features:
            raise ModelInputError(f"anomaly rows must have shape (n, {n_features}), got {rows.shape}")
        return np.asarray(self._session.run(None, {self._input: rows})[0], dtype=np.float64).reshape(len(rows))

    def is_anomaly(self, X: np.ndarray) -> np.ndarray:
        """``score > threshold`` per row."""
        return self.score(X) > self.threshold

    def save(self, path: Path) -> None:
        """Write ``model.onnx`` and ``detector.json`` into ``path`` (created)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / ONNX_FILE).write_bytes(self._bytes)
        (path / DETECTOR_FILE).write_text(json.dumps(self._metadata.to_json(), indent=2, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a scorer written by ``save``; ``ModelInputError`` when a file is missing or of another family."""
        path = Path(path)
        for name in (ONNX_FILE, DETECTOR_FILE):
            if not (path / name).is_file():
                raise ModelInputError(f"{path} is not a saved anomaly scorer: {name} is missing")
        metadata = AnomalyMetadata.from_json(json.loads((path / DETECTOR_FILE).read_text(encoding="utf-8")))
        if metadata.family != FAMILY:
            raise ModelInputError(f"{path} holds a {metadata.family} model, not a {FAMILY} one")
        return cls((path / ONNX_FILE).read_bytes(), metadata)
