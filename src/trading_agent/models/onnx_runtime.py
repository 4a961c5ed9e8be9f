"""Serve an exported model with onnxruntime (CPU, one intra-op thread) behind ``predict_proba``.

``OnnxModel`` carries the native model's ``ModelMetadata``, so its columns follow ``metadata.classes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import onnxruntime as ort

from trading_agent.models.base import (
    InputKind,
    ModelInputError,
    ModelMetadata,
    check_predict_input,
    read_metadata,
    write_metadata,
)

__all__ = ["ONNX_FILE", "OnnxModel", "cpu_session"]

ONNX_FILE = "model.onnx"


def cpu_session(onnx_model: bytes) -> ort.InferenceSession:
    """An ONNX Runtime session on the CPU with one intra-op and one inter-op thread (serving is per row)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_model, sess_options=options, providers=["CPUExecutionProvider"])


class OnnxModel:
    """An ONNX classifier: ``predict_proba`` only (it cannot be fitted)."""

    def __init__(self, onnx_model: bytes | Path, metadata: ModelMetadata) -> None:
        self._bytes = onnx_model if isinstance(onnx_model, bytes) else Path(onnx_model).read_bytes()
        self._metadata = metadata
        self._session = cpu_session(self._bytes)
        self._input = self._session.get_inputs()[0].name
        self._output = self._probability_output()

    def _probability_output(self) -> str:
        """The name of the float probability tensor among the outputs."""
        outputs = self._session.get_outputs()
        for out in outputs:
            if out.name == "probabilities" and out.type == "tensor(float)":
                return str(out.name)
        for out in outputs:
            if out.type in ("tensor(float)", "tensor(double)"):
                return str(out.name)
        raise ModelInputError(f"ONNX model {self._metadata.name} has no probability tensor output")

    @property
    def metadata(self) -> ModelMetadata:
        """The native model's metadata."""
        return self._metadata

    @property
    def input_kind(self) -> InputKind:
        """The native model's kind of sample."""
        return self._metadata.input_kind

    @property
    def window(self) -> int:
        """The native model's window (1 for a tabular model)."""
        return self._metadata.window

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> Self:
        """Not possible: ONNX models are exported, not trained."""
        raise ModelInputError("an ONNX model cannot be fitted; fit the native model and export it")

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities as float64, shape ``(n, len(classes))``."""
        X = check_predict_input(X, self._metadata)
        result: Any = self._session.run([self._output], {self._input: np.ascontiguousarray(X, dtype=np.float32)})[0]
        proba = np.asarray(result, dtype=np.float64)
        n_classes = len(self._metadata.classes)
        if proba.shape != (len(X), n_classes):
            raise ModelInputError(f"ONNX output of shape {proba.shape}, expected ({len(X)}, {n_classes})")
        return proba

    def save(self, path: Path) -> None:
        """Write ``model.onnx`` and ``metadata.json`` into directory ``path`` (created)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / ONNX_FILE).write_bytes(self._bytes)
        write_metadata(path, self._metadata)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a model written by ``save``."""
        path = Path(path)
        metadata = read_metadata(path)
        file = path / ONNX_FILE
        if not file.is_file():
            raise ModelInputError(f"{path} is not a saved ONNX model: {ONNX_FILE} is missing")
        return cls(file, metadata)
