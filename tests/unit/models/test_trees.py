"""Tree models: learn a noisy linear rule, probabilities, save/load, input errors, registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.testkit.models import FAST, dataset, fitted
from trading_agent.models.base import Model, ModelInputError
from trading_agent.models.trees import TREE_MODELS, make_tree_model


@pytest.mark.parametrize("kind", ["binary", "three_class"])
@pytest.mark.parametrize("key", sorted(TREE_MODELS))
def test_learns_and_round_trips(key: str, kind: str, tmp_path: Path) -> None:
    model, X_test, y_test = fitted(key, kind)
    assert isinstance(model, Model)
    meta = model.metadata
    expected_classes = (0, 1) if kind == "binary" else (-1, 0, 1)
    assert meta.classes == expected_classes
    assert meta.feature_names == tuple(f"f{i}" for i in range(12))
    assert meta.family == TREE_MODELS[key].family
    assert meta.library_versions

    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), len(expected_classes))
    assert proba.dtype == np.float64
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    accuracy = np.mean(np.array(meta.classes)[proba.argmax(axis=1)] == y_test)
    chance = 0.5 if kind == "binary" else 1 / 3
    assert accuracy > chance + 0.2, accuracy

    model.save(tmp_path / "m")
    loaded = type(model).load(tmp_path / "m")
    assert loaded.metadata == meta
    np.testing.assert_allclose(loaded.predict_proba(X_test), proba, rtol=0, atol=1e-12)


@pytest.mark.parametrize("key", sorted(TREE_MODELS))
def test_bad_input_raises(key: str) -> None:
    X, y = dataset("binary")
    model = make_tree_model(key, **FAST[key])
    with pytest.raises(ModelInputError):
        _ = model.metadata
    with pytest.raises(ModelInputError):
        model.fit(X[:100], np.zeros(100, dtype=int))
    y_nan = y[:100].astype(float)
    y_nan[-1] = np.nan
    with pytest.raises(ModelInputError):
        model.fit(X[:100], y_nan)
    model.fit(X[:300], y[:300])
    with pytest.raises(ModelInputError):
        model.predict_proba(X[:5, :11])


def test_feature_names_and_weights() -> None:
    X, y = dataset("binary")
    names = [f"x{i}" for i in range(12)]
    model = make_tree_model("lgbm", name="mine", n_estimators=20).fit(
        X[:500], y[:500], sample_weight=np.ones(500), feature_names=names
    )
    assert model.metadata.name == "mine"
    assert model.metadata.feature_names == tuple(names)
    assert model.metadata.params["n_estimators"] == 20
    with pytest.raises(ModelInputError):
        make_tree_model("lgbm").fit(X[:500], y[:500], feature_names=names[:3])


def test_load_missing_or_wrong_family(tmp_path: Path) -> None:
    with pytest.raises(ModelInputError):
        TREE_MODELS["lgbm"].load(tmp_path)
    model, _, _ = fitted("xgb", "binary")
    model.save(tmp_path / "xgb")
    with pytest.raises(ModelInputError, match="xgboost"):
        TREE_MODELS["lgbm"].load(tmp_path / "xgb")


def test_unknown_key() -> None:
    with pytest.raises(ValueError, match=r"'boosty'.*catboost, lgbm, rf, xgb"):
        make_tree_model("boosty")
