"""Model registry use cases: list, show, promote and roll back registered ensembles, and time their serving.

``bench`` downloads a version's bundle into a temporary directory, loads it on both runtimes (the
libraries' own models and ONNX) and times ``EnsemblePredictor.predict`` on one feature row at a
time, as the agent calls it on every closed candle: rows are drawn from a standard normal
(float32, fixed seed), a few warm-up calls come first, each call is timed with
``time.perf_counter_ns``. Memory is the process's resident set after each runtime is loaded (both
runtimes live in one process, so the second figure includes the first; ``load_rss_mb`` is what that
load added).

MLflow and the model libraries are imported where they are used: every ``trading-agent`` command
imports this module, and none of them is needed to start one.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from trading_agent.config import AppSettings
from trading_agent.services.errors import ServiceError, service_errors

if TYPE_CHECKING:
    from trading_agent.models.predictor import EnsemblePredictor
    from trading_agent.registry import ModelRegistry, ModelVersionInfo

__all__ = ["ModelDetails", "ModelService", "ModelVersionSummary"]

_PRODUCTION = "production"
_WARMUP_CALLS = 10


class ModelVersionSummary(BaseModel):
    """One registered version: its aliases and what its training run logged."""

    name: str
    version: int
    run_id: str
    created: datetime
    aliases: list[str]
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    source: str

    @classmethod
    def of(cls, info: ModelVersionInfo) -> ModelVersionSummary:
        """The summary of a registry entry."""
        return cls.model_validate(info, from_attributes=True)


class ModelDetails(ModelVersionSummary):
    """A version with its per-fold metrics (in fold order)."""

    fold_metrics: list[dict[str, float]]


def _rss_mb() -> float:
    try:  # Linux: the current resident set
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):  # elsewhere: the peak resident set (bytes on macOS, KiB on Linux)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _latency_ms(predictor: EnsemblePredictor, features: np.ndarray) -> dict[str, float]:
    """Time one prediction per row of ``features`` (each with the rows of history the longest window needs)."""
    window = predictor.window
    last = np.array([window - 1])
    n = len(features) - window + 1
    for i in range(min(_WARMUP_CALLS, n)):
        predictor.predict(features[i : i + window], last)
    elapsed = np.empty(n, dtype=np.int64)
    for i in range(n):
        start = time.perf_counter_ns()
        predictor.predict(features[i : i + window], last)
        elapsed[i] = time.perf_counter_ns() - start
    p50, p95, p99 = np.percentile(elapsed, [50, 95, 99]) / 1e6
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "mean_ms": float(elapsed.mean() / 1e6)}


class ModelService:
    """Registered models for the front ends; every failure is a ``ServiceError``."""

    def __init__(self, registry: ModelRegistry) -> None:
        self._registry = registry

    @classmethod
    def from_settings(cls, settings: AppSettings) -> ModelService:
        """The service on the registry at ``settings.mlflow_tracking_uri``."""
        from trading_agent.registry import ModelRegistry

        with service_errors():
            return cls(ModelRegistry(settings.mlflow_tracking_uri))

    def list_versions(self, name: str | None = None) -> list[ModelVersionSummary]:
        """Every version of ``name`` (of every model when ``None``), newest first."""
        with service_errors():
            return [ModelVersionSummary.of(info) for info in self._registry.versions(name)]

    def show(self, name: str, version: int | None = None, alias: str | None = None) -> ModelDetails:
        """One version (by number or alias; the latest when neither is given) with its per-fold metrics."""
        with service_errors():
            info = self._registry.version(name, version, alias)
            folds = self._registry.fold_metrics(name, info.version)
        return ModelDetails(**ModelVersionSummary.of(info).model_dump(), fold_metrics=folds)

    def promote(self, name: str, version: int) -> ModelVersionSummary:
        """Make ``version`` the production version of ``name``."""
        with service_errors():
            return ModelVersionSummary.of(self._registry.promote(name, version))

    def rollback(self, name: str) -> ModelVersionSummary:
        """Point production back at the previously promoted version of ``name``."""
        with service_errors():
            return ModelVersionSummary.of(self._registry.rollback(name))

    def bench(
        self, name: str, version: int | None = None, alias: str | None = _PRODUCTION, rows: int = 1000, seed: int = 0
    ) -> dict[str, Any]:
        """Single-row prediction latency (p50/p95/p99 ms) and memory of a version, native vs ONNX."""
        from trading_agent.models.base import ModelInputError
        from trading_agent.models.bundle import load_ensemble, read_bundle_info

        if rows < 1:
            raise ServiceError(f"rows must be at least 1, got {rows}")
        with service_errors(), tempfile.TemporaryDirectory(prefix="trading-agent-bench-") as tmp:
            info = self._registry.version(name, version, None if version is not None else alias)
            bundle = self._registry.download(name, info.version, dst=Path(tmp))
            try:
                manifest = read_bundle_info(bundle)
                shape = (rows + int(manifest.get("window", 1)) - 1, len(manifest["feature_names"]))
                features = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
                runtimes: dict[str, dict[str, float]] = {}
                for runtime in ("native", "onnx"):
                    before, start = _rss_mb(), time.perf_counter()
                    predictor = load_ensemble(bundle, runtime=runtime)
                    load_ms, after = (time.perf_counter() - start) * 1000, _rss_mb()
                    runtimes[runtime] = _latency_ms(predictor, features) | {
                        "load_ms": load_ms,
                        "rss_mb": after,
                        "load_rss_mb": after - before,
                    }
            except ModelInputError as exc:
                raise ServiceError(f"{name} version {info.version}: {exc}") from exc
        return {
            "name": name,
            "version": info.version,
            "aliases": list(info.aliases),
            "base_models": list(manifest["base_models"]),
            "meta": manifest["meta"],
            "n_features": int(features.shape[1]),
            "rows": rows,
            "runtimes": runtimes,
        }
