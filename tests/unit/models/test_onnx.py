"""ONNX export and onnxruntime serving match the native tree models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.testkit.models import fitted
from trading_agent.models.base import ModelInputError
from trading_agent.models.onnx_export import to_onnx
from trading_agent.models.onnx_runtime import OnnxModel
from trading_agent.models.trees import TREE_MODELS


@pytest.mark.parametrize("kind", ["binary", "three_class"])
@pytest.mark.parametrize("key", sorted(TREE_MODELS))
def test_onnx_matches_native(key: str, kind: str, tmp_path: Path) -> None:
    model, X_test, _ = fitted(key, kind)
    onnx_model = OnnxModel(to_onnx(model), model.metadata)
    assert onnx_model.metadata == model.metadata
    native = model.predict_proba(X_test)
    served = onnx_model.predict_proba(X_test)
    assert served.dtype == np.float64
    np.testing.assert_allclose(served, native, rtol=0, atol=1e-5)

    onnx_model.save(tmp_path / "onnx")
    loaded = OnnxModel.load(tmp_path / "onnx")
    np.testing.assert_array_equal(loaded.predict_proba(X_test), served)
    with pytest.raises(ModelInputError):
        loaded.predict_proba(X_test[:, :5])


def test_onnx_input_is_named_input() -> None:
    import onnx

    for key in TREE_MODELS:
        model, _, _ = fitted(key, "binary")
        graph = onnx.load_from_string(to_onnx(model)).graph
        assert [i.name for i in graph.input] == ["input"], key


def test_to_onnx_rejects_other_models() -> None:
    with pytest.raises(TypeError):
        to_onnx(object())  # type: ignore[arg-type]


def test_load_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelInputError):
        OnnxModel.load(tmp_path)
