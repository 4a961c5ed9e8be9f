"""The anomaly detector served by ONNX Runtime: the detector's scores and flags, saved and loaded, in a bundle."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from tests.testkit.models import make_bundle
from tests.unit.models.test_anomaly import correlated_rows
from trading_agent.models.anomaly import DETECTOR_FILE, VAEAnomalyDetector
from trading_agent.models.anomaly_runtime import OnnxAnomalyScorer
from trading_agent.models.base import ModelInputError
from trading_agent.models.bundle import load_anomaly, read_bundle_info, save_ensemble

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@functools.cache
def _detector(n_features: int = 12) -> VAEAnomalyDetector:
    X, _ = correlated_rows(2000, seed=0)
    names = [f"f{i}" for i in range(n_features)]
    return VAEAnomalyDetector(epochs=5, hidden=16).fit(X[:, :n_features], names)


def test_the_scorer_gives_the_detectors_scores_and_flags() -> None:
    detector = _detector()
    scorer = OnnxAnomalyScorer.from_detector(detector)
    X, _ = correlated_rows(500, seed=3, injected=0.05)
    np.testing.assert_allclose(scorer.score(X), detector.score(X), rtol=1e-4, atol=1e-6)
    assert scorer.threshold == detector.threshold
    assert np.array_equal(scorer.is_anomaly(X), scorer.score(X) > detector.threshold)
    assert scorer.is_anomaly(X).any()


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    scorer = OnnxAnomalyScorer.from_detector(_detector())
    scorer.save(tmp_path / "anomaly")
    loaded = OnnxAnomalyScorer.load(tmp_path / "anomaly")
    X, _ = correlated_rows(50, seed=4)
    assert np.array_equal(loaded.score(X), scorer.score(X))
    assert loaded.metadata == scorer.metadata
    with pytest.raises(ModelInputError, match="is missing"):
        OnnxAnomalyScorer.load(tmp_path)


def test_rows_of_the_wrong_width_are_refused() -> None:
    scorer = OnnxAnomalyScorer.from_detector(_detector())
    with pytest.raises(ModelInputError, match=r"shape \(n, 12\)"):
        scorer.score(np.zeros((3, 11), dtype=np.float32))


def test_a_bundle_carries_the_scorer_of_its_features(tmp_path: Path) -> None:
    plain = make_bundle(tmp_path)  # features f0..f11, like the detector's
    assert load_anomaly(plain.path) is None
    assert read_bundle_info(plain.path)["anomaly_threshold"] is None
    scorer = OnnxAnomalyScorer.from_detector(_detector())
    save_ensemble(plain.predictor, tmp_path / "with", anomaly=scorer)
    loaded = load_anomaly(tmp_path / "with")
    assert loaded is not None and loaded.threshold == scorer.threshold
    assert read_bundle_info(tmp_path / "with")["anomaly_threshold"] == scorer.threshold


def test_a_scorer_reads_its_own_columns_of_the_ensembles_rows() -> None:
    scorer = OnnxAnomalyScorer.from_detector(_detector(n_features=11))  # f0..f10
    assert scorer.columns([f"f{i}" for i in reversed(range(12))]).tolist() == list(range(11, 0, -1))
    with pytest.raises(ModelInputError, match="lack: f10"):
        scorer.columns([f"f{i}" for i in range(10)])


def test_a_scorer_of_features_the_ensemble_lacks_is_refused(tmp_path: Path) -> None:
    plain = make_bundle(tmp_path)  # f0..f11
    OnnxAnomalyScorer.from_detector(_detector()).save(tmp_path / "scorer")
    stored = json.loads((tmp_path / "scorer" / DETECTOR_FILE).read_text())
    stored["feature_names"][0] = "g0"
    (tmp_path / "scorer" / DETECTOR_FILE).write_text(json.dumps(stored))
    renamed = OnnxAnomalyScorer.load(tmp_path / "scorer")
    with pytest.raises(ModelInputError, match="lack: g0"):
        save_ensemble(plain.predictor, tmp_path / "with", anomaly=renamed)
    assert not (tmp_path / "with").exists()  # refused before anything was written
