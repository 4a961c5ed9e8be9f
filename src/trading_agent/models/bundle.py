"""The trained ensemble on disk: one directory that the registry stores and the signal engine loads.

Layout of a bundle directory::

    ensemble.json        format version, base model names in vote order, meta model, calibrator,
                         feature names, the longest window (rows of history one prediction
                         needs), and whatever the trainer adds under "info"
    native/<name>/       each base model's native save (``Model.save``)
    onnx/<name>/         each base model exported to ONNX (``OnnxModel.save``)
    meta.joblib          the fitted meta model (joblib: load only bundles you wrote)
    anomaly/             optional: the anomaly detector, exported (``OnnxAnomalyScorer``): the
                         regime filter the risk manager halves or blocks entries by

``load_ensemble(path, runtime="onnx")`` serves the ONNX files (the fast path); ``runtime="native"``
loads the libraries' own models. Native loading finds a model's class by its metadata family
(``MODEL_FAMILIES``), so the deep models of a later issue plug in by adding their class there.
``load_anomaly`` gives the bundle's anomaly scorer, or ``None``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from trading_agent.models.anomaly_runtime import OnnxAnomalyScorer
from trading_agent.models.base import Model, ModelInputError, read_metadata
from trading_agent.models.calibration import Calibrator
from trading_agent.models.ensemble import load_combiner
from trading_agent.models.onnx_export import to_onnx
from trading_agent.models.onnx_runtime import OnnxModel
from trading_agent.models.predictor import EnsemblePredictor
from trading_agent.models.sequence import SEQUENCE_MODELS
from trading_agent.models.trees import TREE_MODELS

__all__ = [
    "BUNDLE_FILE",
    "MODEL_FAMILIES",
    "Runtime",
    "load_anomaly",
    "load_ensemble",
    "read_bundle_info",
    "save_ensemble",
]
_ANOMALY_DIR = "anomaly"

BUNDLE_FILE = "ensemble.json"
_FORMAT = 1
_RUNTIMES = ("onnx", "native")
Runtime = Literal["onnx", "native"]

MODEL_FAMILIES: dict[str, type[Any]] = {cls.family: cls for cls in TREE_MODELS.values()} | {
    cls.family: cls for cls in SEQUENCE_MODELS.values()
}
"""Metadata family to the model class whose ``load`` reads it."""


def save_ensemble(
    predictor: EnsemblePredictor,
    path: Path,
    *,
    info: dict[str, Any] | None = None,
    anomaly: OnnxAnomalyScorer | None = None,
) -> None:
    """Write ``predictor`` (and the optional ``anomaly`` scorer) as a bundle into the new or empty directory ``path``.

    The anomaly scorer must read some of the ensemble's features.
    """
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise ModelInputError(f"{path} is not empty: a bundle is written into a new directory")
    first = next(iter(predictor.base.values())).metadata
    if anomaly is not None:
        anomaly.columns(first.feature_names)  # raises when it reads a feature the ensemble does not compute
    names = list(predictor.base)
    for name, model in predictor.base.items():
        model.save(path / "native" / name)
        OnnxModel(to_onnx(model), model.metadata).save(path / "onnx" / name)
    predictor.meta.save(path / "meta.joblib")
    if anomaly is not None:
        anomaly.save(path / _ANOMALY_DIR)
    manifest = {
        "format": _FORMAT,
        "base_models": names,
        "meta": type(predictor.meta).__name__,
        "calibrator": predictor.calibrator.to_json(),
        "feature_names": list(first.feature_names),
        "window": predictor.window,
        "anomaly_threshold": None if anomaly is None else anomaly.threshold,
        "info": info or {},
    }
    (path / BUNDLE_FILE).write_text(json.dumps(manifest, indent=2, default=str))


def _manifest(path: Path) -> dict[str, Any]:
    file = Path(path) / BUNDLE_FILE
    if not file.is_file():
        raise ModelInputError(f"{path} is not an ensemble bundle: {BUNDLE_FILE} is missing")
    manifest: dict[str, Any] = json.loads(file.read_text())
    if manifest.get("format") != _FORMAT:
        raise ModelInputError(f"{file}: bundle format {manifest.get('format')!r}, this version reads {_FORMAT}")
    return manifest


def read_bundle_info(path: Path) -> dict[str, Any]:
    """The manifest of the bundle at ``path`` (base models, meta model, features, the trainer's info)."""
    return _manifest(path)


def _load_native(path: Path) -> Model:
    family = read_metadata(path).family
    cls = MODEL_FAMILIES.get(family)
    if cls is None:
        raise ModelInputError(f"{path}: no model class for family {family!r}; known: {', '.join(MODEL_FAMILIES)}")
    model: Model = cls.load(path)
    return model


def load_ensemble(path: Path, runtime: Runtime = "onnx") -> EnsemblePredictor:
    """The bundle at ``path`` as a predictor whose base models run on ``runtime`` ("onnx" or "native")."""
    if runtime not in _RUNTIMES:
        raise ModelInputError(f"unknown runtime {runtime!r}: choose onnx or native")
    path = Path(path)
    manifest = _manifest(path)
    load = OnnxModel.load if runtime == "onnx" else _load_native
    base = {name: load(path / runtime / name) for name in manifest["base_models"]}
    return EnsemblePredictor(base, load_combiner(path / "meta.joblib"), Calibrator.from_json(manifest["calibrator"]))


def load_anomaly(path: Path) -> OnnxAnomalyScorer | None:
    """The bundle's anomaly scorer, or ``None`` when it was trained without one."""
    path = Path(path)
    _manifest(path)
    return OnnxAnomalyScorer.load(path / _ANOMALY_DIR) if (path / _ANOMALY_DIR).is_dir() else None
