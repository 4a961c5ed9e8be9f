"""The MLflow model registry on a real SQLite store: versions, aliases, promote/rollback, download."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tests.testkit.models import Bundle, make_bundle
from trading_agent.domain import TradingAgentError
from trading_agent.models.bundle import load_ensemble, read_bundle_info
from trading_agent.registry import CANDIDATE, PRODUCTION, ModelRegistry, RegistryError

FOLDS = [{"auc": 0.61, "log_loss": 0.68}, {"auc": 0.58, "log_loss": 0.69}, {"auc": 0.64, "log_loss": 0.67}]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registry") / "db" / "mlflow.db"


@pytest.fixture(scope="module")
def registry(store: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{store}")


def _register(registry: ModelRegistry, bundle: Bundle, name: str, seed: int = 0, **extra: object) -> int:
    info = registry.register(
        bundle.path,
        name=name,
        params={"seed": seed, "base_models": ["lgbm", "xgb"], **extra},
        metrics={"auc": 0.6 + seed / 100, "sharpe": math.nan},
        fold_metrics=FOLDS,
        tags={"symbol": "BTCUSD", "git_sha": "abc123"},
    )
    return info.version


def test_register_logs_the_run_and_makes_each_new_version_the_candidate(
    registry: ModelRegistry, bundle: Bundle, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"auc": 0.6}))
    before = datetime.now(UTC)
    first = registry.register(
        bundle.path,
        name="btc",
        params={"seed": 0, "grid": list(range(3000))},
        metrics={"auc": 0.61, "sharpe": math.nan, "calmar": math.inf},
        fold_metrics=FOLDS,
        tags={"symbol": "BTCUSD"},
        files=[report],
    )
    second = _register(registry, bundle, "btc", seed=1)
    assert (first.name, first.version, second) == ("btc", 1, 2)
    assert first.created >= before.replace(microsecond=0) and first.created.tzinfo is UTC
    assert first.params["seed"] == "0" and len(first.params["grid"]) == 6000  # MLflow's limit on a param value
    assert first.metrics == {"auc": 0.61}  # NaN and inf are not logged; fold metrics are kept apart
    assert first.tags == {"symbol": "BTCUSD"}
    assert registry.fold_metrics("btc", 1) == FOLDS
    versions = registry.versions("btc")
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].aliases == (CANDIDATE,) and versions[1].aliases == ()
    assert registry.version("btc").version == 2 and registry.version("btc", alias=CANDIDATE).version == 2
    # artifacts live beside the database, nothing in the working directory
    root = store.parent / "mlartifacts"
    assert first.source.startswith(root.as_uri()) and first.source.endswith("/ensemble")
    assert (root / first.source.removeprefix(root.as_uri() + "/") / "ensemble.json").is_file()
    assert len(list(root.glob("*/artifacts/report/report.json"))) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_promote_moves_production_and_rollback_returns_to_the_previous_promotion(
    registry: ModelRegistry, bundle: Bundle
) -> None:
    for seed in range(3):
        _register(registry, bundle, "eth", seed=seed)
    with pytest.raises(RegistryError, match="no version was promoted to production before any version"):
        registry.rollback("eth")
    assert registry.promote("eth", 1).aliases == (PRODUCTION,)
    with pytest.raises(RegistryError, match="before version 1"):
        registry.rollback("eth")
    promoted = registry.promote("eth", 3)
    assert promoted.aliases == (CANDIDATE, PRODUCTION)
    assert registry.version("eth", 1).aliases == ()
    assert registry.version("eth", alias=PRODUCTION).version == 3
    back = registry.rollback("eth")
    assert (back.version, back.aliases) == (1, (PRODUCTION,))
    assert registry.version("eth", alias=PRODUCTION).version == 1
    with pytest.raises(RegistryError, match="before version 1"):
        registry.rollback("eth")


def test_unknown_models_versions_and_aliases_fail_clearly(registry: ModelRegistry, bundle: Bundle) -> None:
    _register(registry, bundle, "sol")
    with pytest.raises(RegistryError, match=r"model 'sol' version 7 not found"):
        registry.promote("sol", 7)
    with pytest.raises(RegistryError, match=r"model 'doge' not found in the registry at sqlite:///"):
        registry.promote("doge", 1)
    with pytest.raises(RegistryError, match=r"model 'sol' has no alias 'production' \(aliases: candidate\)"):
        registry.version("sol", alias=PRODUCTION)
    with pytest.raises(RegistryError, match="not an ensemble bundle"):
        registry.register(bundle.path.parent, name="sol", params={}, metrics={}, fold_metrics=[], tags={})
    assert issubclass(RegistryError, TradingAgentError)


def test_download_serves_the_registered_predictions_natively_and_on_onnx(
    registry: ModelRegistry, bundle: Bundle, tmp_path: Path
) -> None:
    version = _register(registry, bundle, "xrp")
    registry.promote("xrp", version)
    local = registry.download("xrp", alias=PRODUCTION, dst=tmp_path / "dl")
    assert local == tmp_path / "dl" / "ensemble"
    assert read_bundle_info(local)["base_models"] == ["lgbm", "xgb"]
    expected = bundle.predictor.predict(bundle.X).prediction
    native = load_ensemble(local, runtime="native").predict(bundle.X).prediction
    onnx = load_ensemble(local, runtime="onnx").predict(bundle.X).prediction
    np.testing.assert_allclose(native, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(onnx, expected, rtol=0, atol=1e-5)
    by_version = registry.download("xrp", version, dst=tmp_path / "by_version")
    assert (by_version / "ensemble.json").read_text() == (local / "ensemble.json").read_text()


def test_two_registries_in_one_process_share_nothing(registry: ModelRegistry, bundle: Bundle, tmp_path: Path) -> None:
    _register(registry, bundle, "ada")
    other = ModelRegistry(f"sqlite:///{tmp_path / 'other.db'}")
    assert other.versions() == []
    assert "ada" in {v.name for v in registry.versions()}
