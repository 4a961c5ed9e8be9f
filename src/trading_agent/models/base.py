"""The one model protocol every model implements: tree, deep sequence, anomaly, meta and RL alike.

A model maps feature rows to class probabilities. Tabular models read one row per sample
(``X`` of shape ``(n, n_features)``); sequence models read a window of the last ``window`` rows per
sample (``X`` of shape ``(n, window, n_features)``, see ``windows``). Everything else (trainer,
registry, ensemble, ONNX export, serving) talks only to this protocol and to ``ModelMetadata``.

Classes are the sorted distinct labels seen in ``fit``; ``predict_proba`` returns one column per
class in that order, rows summing to 1 (the scikit-learn convention). The trading signal uses the
probability of the class ``1`` (price up).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar, runtime_checkable

import numpy as np

__all__ = [
    "InputKind",
    "Model",
    "ModelInputError",
    "ModelMetadata",
    "NativeModelBase",
    "check_fit_inputs",
    "check_predict_input",
    "encode_labels",
    "feature_names_for",
    "library_version",
    "read_metadata",
    "read_model_dir",
    "samples",
    "windows",
    "write_metadata",
]

METADATA_FILE = "metadata.json"
_T = TypeVar("_T")


class ModelInputError(ValueError):
    """Input a model cannot use: wrong shape, non-finite labels, unknown feature count, unfitted model."""


class InputKind(StrEnum):
    """What one sample is: a feature row, or a window of consecutive feature rows."""

    TABULAR = "tabular"
    SEQUENCE = "sequence"


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    """What a fitted model is: enough to serve it, rebuild it, and audit it."""

    name: str
    family: str
    input_kind: InputKind
    feature_names: tuple[str, ...]
    classes: tuple[int, ...]
    window: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    library_versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["input_kind"] = self.input_kind.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelMetadata:
        """The inverse of ``to_json``."""
        return cls(
            name=data["name"],
            family=data["family"],
            input_kind=InputKind(data["input_kind"]),
            feature_names=tuple(data["feature_names"]),
            classes=tuple(int(c) for c in data["classes"]),
            window=int(data.get("window", 1)),
            params=dict(data.get("params", {})),
            library_versions=dict(data.get("library_versions", {})),
        )


@runtime_checkable
class Model(Protocol):
    """A probabilistic classifier over feature rows (or windows of them)."""

    @property
    def input_kind(self) -> InputKind:
        """Whether one sample is a feature row or a window of rows (known before ``fit``)."""
        ...

    @property
    def window(self) -> int:
        """How many consecutive rows one sample spans (1 for a tabular model; known before ``fit``)."""
        ...

    @property
    def metadata(self) -> ModelMetadata:
        """What this fitted model is; raises ``ModelInputError`` before ``fit``."""
        ...

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> Self:
        """Fit on samples ``X`` and integer labels ``y`` (``feature_names`` name ``X``'s columns); returns self."""
        ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n, len(classes))``, rows summing to 1."""
        ...

    def save(self, path: Path) -> None:
        """Write the fitted model into directory ``path`` (created), including ``metadata.json``."""
        ...

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a model written by ``save``."""
        ...


def check_fit_inputs(
    X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, *, input_kind: InputKind
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``X`` as float32, ``y`` as int64 and weights as float64, after checking shapes and values.

    Raises ``ModelInputError`` naming what is wrong: the wrong number of dimensions, lengths that
    differ, no samples, a single class, non-finite or non-integer labels, negative weights.
    """
    X = np.asarray(X, dtype=np.float32)
    dims = 2 if input_kind is InputKind.TABULAR else 3
    if X.ndim != dims:
        raise ModelInputError(f"X must have {dims} dimensions for a {input_kind.value} model, got shape {X.shape}")
    y_raw = np.asarray(y, dtype=np.float64)
    if y_raw.ndim != 1 or len(y_raw) != len(X):
        raise ModelInputError(f"y must be 1-D with one label per sample: X has {len(X)}, y has shape {y_raw.shape}")
    if len(X) == 0:
        raise ModelInputError("no samples to fit on")
    if not np.all(np.isfinite(y_raw)) or not np.all(y_raw == np.round(y_raw)):
        raise ModelInputError("y must hold finite integer labels (drop the NaN labels of the last bars first)")
    labels = y_raw.astype(np.int64)
    if len(np.unique(labels)) < 2:
        raise ModelInputError(f"y holds a single class ({labels[0]}); a classifier needs at least two")
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != (len(X),):
            raise ModelInputError(f"sample_weight must have shape ({len(X)},), got {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ModelInputError("sample_weight must be finite and non-negative")
    return X, labels, weights


def check_predict_input(X: np.ndarray, metadata: ModelMetadata) -> np.ndarray:
    """``X`` as float32 after checking it has the fitted model's shape per sample."""
    X = np.asarray(X, dtype=np.float32)
    n_features = len(metadata.feature_names)
    if metadata.input_kind is InputKind.TABULAR:
        expected: tuple[int, ...] = (n_features,)
    else:
        expected = (metadata.window, n_features)
    if X.ndim != len(expected) + 1 or X.shape[1:] != expected:
        raise ModelInputError(f"{metadata.name} expects samples of shape {expected}, got X of shape {X.shape}")
    return X


def windows(X: np.ndarray, window: int) -> np.ndarray:
    """The sequence view of a feature matrix: sample ``i`` is rows ``i .. i + window - 1``, so it ends at
    row ``i + window - 1`` and sees nothing later. Shape ``(n - window + 1, window, n_features)``; no copy."""
    X = np.asarray(X)
    if window < 1 or window > len(X):
        raise ModelInputError(f"window must be between 1 and the {len(X)} rows, got {window}")
    view = np.lib.stride_tricks.sliding_window_view(X, window, axis=0)
    return np.moveaxis(view, -1, 1)


def samples(X: np.ndarray, rows: np.ndarray, input_kind: InputKind, window: int) -> np.ndarray:
    """The samples of ``rows`` of consecutive feature rows ``X``: the rows themselves for a tabular model,
    for a sequence model the window ending at each row (``ModelInputError`` when a row has less history)."""
    rows = np.asarray(rows, dtype=np.int64)
    if input_kind is InputKind.TABULAR:
        picked: np.ndarray = np.asarray(X)[rows]
        return picked
    if rows.size and rows.min() < window - 1:
        raise ModelInputError(f"row {rows.min()} has {rows.min() + 1} rows of history; the window needs {window}")
    windowed: np.ndarray = windows(X, window)[rows - (window - 1)]
    return windowed


def write_metadata(path: Path, metadata: ModelMetadata) -> None:
    """Write ``metadata.json`` into the model directory ``path`` (created)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / METADATA_FILE).write_text(json.dumps(metadata.to_json(), indent=2, sort_keys=True), encoding="utf-8")


def read_metadata(path: Path) -> ModelMetadata:
    """Read the ``metadata.json`` of a model directory; ``ModelInputError`` when it is missing."""
    file = path / METADATA_FILE
    if not file.is_file():
        raise ModelInputError(f"{path} is not a saved model: {METADATA_FILE} is missing")
    return ModelMetadata.from_json(json.loads(file.read_text(encoding="utf-8")))


def encode_labels(labels: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """The sorted distinct labels (``metadata.classes``) and each label's index among them (``0..k-1``)."""
    classes = np.unique(labels)
    return tuple(int(c) for c in classes), np.searchsorted(classes, labels)


def feature_names_for(feature_names: Sequence[str] | None, n_features: int) -> tuple[str, ...]:
    """``feature_names`` as a tuple (``f0, f1, ...`` when ``None``); ``ModelInputError`` when the count differs."""
    names = tuple(feature_names) if feature_names is not None else tuple(f"f{i}" for i in range(n_features))
    if len(names) != n_features:
        raise ModelInputError(f"{len(names)} feature names for {n_features} features")
    return names


def library_version(distribution: str) -> str:
    """The installed version of ``distribution``, or "unknown"."""
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def read_model_dir(path: Path, family: str, native_file: str) -> ModelMetadata:
    """The metadata of a model directory that a ``family`` model wrote with its ``native_file`` beside it.

    ``ModelInputError`` when the metadata is missing, names another family, or the native file is missing.
    """
    metadata = read_metadata(path)
    if metadata.family != family:
        raise ModelInputError(f"{path} holds a {metadata.family} model, not a {family} one")
    if not (path / native_file).is_file():
        raise ModelInputError(f"{path} is not a saved {family} model: {native_file} is missing")
    return metadata


class NativeModelBase(ABC):
    """The bookkeeping every natively trained model shares: name, params, the fitted metadata, the save layout.

    Subclasses set ``family``, ``distributions`` (the pip names whose versions go into the metadata) and
    ``native_file``, build their metadata with ``_new_metadata`` in ``fit``, and implement ``_save_native``.
    """

    family: ClassVar[str]
    distributions: ClassVar[tuple[str, ...]]
    native_file: ClassVar[str]
    input_kind: ClassVar[InputKind]

    def __init__(self, name: str | None, params: dict[str, Any]) -> None:
        self.name = name or self.family
        self.params: dict[str, Any] = params
        self._metadata: ModelMetadata | None = None

    @property
    def metadata(self) -> ModelMetadata:
        """What this fitted model is; ``ModelInputError`` before ``fit``."""
        return self._fitted(self._metadata)

    @property
    def window(self) -> int:
        """How many consecutive rows one sample spans (1 unless a subclass says otherwise)."""
        return 1

    def _fitted(self, state: _T | None) -> _T:
        if state is None:
            raise ModelInputError(f"{self.name} is not fitted yet")
        return state

    def _new_metadata(
        self, input_kind: InputKind, feature_names: tuple[str, ...], classes: tuple[int, ...], window: int = 1
    ) -> ModelMetadata:
        return ModelMetadata(
            name=self.name,
            family=self.family,
            input_kind=input_kind,
            feature_names=feature_names,
            classes=classes,
            window=window,
            params=dict(self.params),
            library_versions={d: library_version(d) for d in self.distributions},
        )

    def save(self, path: Path) -> None:
        """Write the native model file and ``metadata.json`` into directory ``path`` (created)."""
        path = Path(path)
        metadata = self.metadata
        path.mkdir(parents=True, exist_ok=True)
        self._save_native(path / self.native_file)
        write_metadata(path, metadata)

    @abstractmethod
    def _save_native(self, file: Path) -> None:
        """Write the fitted library object to ``file``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, fitted={self._metadata is not None})"
