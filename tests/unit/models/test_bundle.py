"""The ensemble bundle on disk: what is saved serves the same predictions, natively and on ONNX."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.testkit.models import Bundle, make_bundle
from trading_agent.models.base import ModelInputError
from trading_agent.models.bundle import BUNDLE_FILE, load_ensemble, read_bundle_info, save_ensemble


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return make_bundle(tmp_path_factory.mktemp("bundle"))


def test_a_saved_bundle_predicts_like_the_predictor_it_was_saved_from(bundle: Bundle) -> None:
    expected = bundle.predictor.predict(bundle.X)
    native = load_ensemble(bundle.path, runtime="native").predict(bundle.X)
    onnx = load_ensemble(bundle.path, runtime="onnx").predict(bundle.X)
    np.testing.assert_allclose(native.prediction, expected.prediction, rtol=0, atol=1e-12)
    for name in ("lgbm", "xgb"):
        np.testing.assert_allclose(native.votes[name], expected.votes[name], rtol=0, atol=1e-12)
    np.testing.assert_allclose(onnx.prediction, expected.prediction, rtol=0, atol=1e-5)
    info = read_bundle_info(bundle.path)
    assert info["base_models"] == ["lgbm", "xgb"] and info["meta"] == "Stacking"
    assert info["feature_names"] == list(bundle.predictor.base["lgbm"].metadata.feature_names)
    assert info["info"] == {"trained_on": "testkit.dataset('binary')"}
    assert {p.name for p in (bundle.path / "onnx").iterdir()} == {"lgbm", "xgb"}


def test_a_bundle_is_written_into_a_new_or_empty_directory_only(bundle: Bundle, tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("something else")
    with pytest.raises(ModelInputError, match="is not empty"):
        save_ensemble(bundle.predictor, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    save_ensemble(bundle.predictor, empty)
    assert (empty / BUNDLE_FILE).is_file()


def test_a_missing_or_foreign_manifest_fails_clearly(bundle: Bundle, tmp_path: Path) -> None:
    with pytest.raises(ModelInputError, match=r"not an ensemble bundle: ensemble\.json is missing"):
        load_ensemble(tmp_path)
    old = tmp_path / "old"
    shutil.copytree(bundle.path, old)
    manifest = json.loads((old / BUNDLE_FILE).read_text())
    (old / BUNDLE_FILE).write_text(json.dumps(manifest | {"format": 0}))
    with pytest.raises(ModelInputError, match="bundle format 0, this version reads 1"):
        read_bundle_info(old)
    with pytest.raises(ModelInputError, match="unknown runtime 'torch'"):
        load_ensemble(bundle.path, runtime="torch")  # type: ignore[arg-type]
