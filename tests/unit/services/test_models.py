"""The model service over a real MLflow SQLite registry: DTOs, the bench, errors as ``ServiceError``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testkit.models import make_bundle
from trading_agent.registry import ModelRegistry
from trading_agent.services.errors import ServiceError
from trading_agent.services.models import ModelService


def test_the_service_shows_benches_and_reports_registry_errors_as_service_errors(tmp_path: Path) -> None:
    registry = ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}")
    bundle = make_bundle(tmp_path)
    registry.register(
        bundle.path, name="m", params={"a": 1}, metrics={"auc": 0.6}, fold_metrics=[{"auc": 0.5}], tags={}
    )
    service = ModelService(registry)
    assert service.promote("m", 1).aliases == ["candidate", "production"]
    details = service.show("m", alias="production")
    assert (details.version, details.params, details.fold_metrics) == (1, {"a": "1"}, [{"auc": 0.5}])
    assert [v.version for v in service.list_versions()] == [1]
    report = service.bench("m", rows=20)
    assert (report["version"], report["n_features"], report["meta"]) == (1, 12, "Stacking")
    assert set(report["runtimes"]) == {"native", "onnx"}
    assert set(report["runtimes"]["onnx"]) == {
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "mean_ms",
        "load_ms",
        "rss_mb",
        "load_rss_mb",
    }
    with pytest.raises(ServiceError, match="version 4 not found"):
        service.promote("m", 4)
    with pytest.raises(ServiceError, match="cannot roll back 'm'"):
        service.rollback("m")
    with pytest.raises(ServiceError, match="rows must be at least 1"):
        service.bench("m", rows=0)
