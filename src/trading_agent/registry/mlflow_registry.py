"""The model registry on MLflow: every trained ensemble bundle is a versioned, promotable model.

One ``register`` call is one MLflow run in the experiment named after the model: its params,
metrics (per-fold metrics under ``fold/<key>`` with ``step`` = the fold index), tags, the bundle
directory under the artifact path ``ensemble/`` and the training report files under ``report/``.
The run's ``ensemble`` artifacts become a new version of the registered model of the same name.

Stages are deprecated in MLflow 3, so the lifecycle uses registered-model aliases:

- ``candidate``: moved to every newly registered version;
- ``production``: the version the agent serves, moved only by ``promote`` and ``rollback``.

Every promotion appends the version to the registered-model tag ``production_history`` (a JSON
list); ``rollback`` drops the last entry and points ``production`` at the one before it.

The client is built with an explicit tracking and registry URI and never touches MLflow's global
state (``mlflow.set_tracking_uri``, the active run), so two registries coexist in one process.
With a ``sqlite:///path`` URI the database's directory is created and artifacts go to
``<that directory>/mlartifacts``, never into the current directory.

The bundle format (``models.bundle``, which imports every model library) is imported by
``register`` only, so listing and promoting stay quick to start.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.utils.validation import (
    MAX_ENTITY_KEY_LENGTH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VAL_LENGTH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_TAG_VAL_LENGTH,
)

from trading_agent.domain import TradingAgentError

__all__ = [
    "CANDIDATE",
    "PRODUCTION",
    "FoldMetrics",
    "ModelRegistry",
    "ModelVersionInfo",
    "RegistryError",
]

PRODUCTION = "production"
CANDIDATE = "candidate"
_HISTORY_TAG = "production_history"
_BUNDLE_PATH = "ensemble"
_REPORT_PATH = "report"
_FOLD_PREFIX = "fold/"
_SYSTEM_TAG_PREFIX = "mlflow."

FoldMetrics = list[dict[str, float]]
"""Per fold (in fold order), the metric values of that fold."""


class RegistryError(TradingAgentError):
    """A registry operation failed: unknown model, version or alias, no rollback target, a store error."""


@dataclass(frozen=True, slots=True)
class ModelVersionInfo:
    """One registered version: where its bundle lives, which aliases point at it, what its run logged."""

    name: str
    version: int
    run_id: str
    created: datetime
    aliases: tuple[str, ...]
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    source: str


def _artifact_location(tracking_uri: str) -> str | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri.removeprefix("sqlite:///").split("?", 1)[0])
    if not db.name or db.name == ":memory:":
        return None
    db = db.resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    return (db.parent / "mlartifacts").as_uri()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _key(key: object) -> str:
    return str(key)[:MAX_ENTITY_KEY_LENGTH]


def _finite(metrics: Mapping[str, float]) -> dict[str, float]:
    # MLflow stores NaN as is and clamps infinities to the largest double: both would read back as numbers.
    return {key: float(value) for key, value in metrics.items() if math.isfinite(float(value))}


class ModelRegistry:
    """Registered ensemble bundles, their versions and the ``production``/``candidate`` aliases."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self._artifact_location = _artifact_location(tracking_uri)
        self._client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def __repr__(self) -> str:
        return f"ModelRegistry({self.tracking_uri!r})"

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise RegistryError(f"{what} not found in the registry at {self.tracking_uri}") from exc
            raise RegistryError(f"{what}: {exc.message}") from exc

    def register(
        self,
        bundle_dir: Path,
        *,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, float],
        fold_metrics: FoldMetrics,
        tags: dict[str, str],
        files: Sequence[Path] = (),
    ) -> ModelVersionInfo:
        """Log the bundle at ``bundle_dir`` as a new run and version of model ``name``; it becomes ``candidate``.

        Params are stringified and truncated to MLflow's limits; non-finite metrics are not logged.
        ``files`` (e.g. the training report) are stored beside the bundle under ``report/``.
        """
        from trading_agent.models.base import ModelInputError
        from trading_agent.models.bundle import read_bundle_info

        bundle_dir = Path(bundle_dir)
        try:
            read_bundle_info(bundle_dir)  # a clear error now rather than an unloadable version later
        except ModelInputError as exc:
            raise RegistryError(f"cannot register {name}: {exc}") from exc
        return self._log_version(
            bundle_dir, _BUNDLE_PATH, name=name, params=params, metrics=metrics, fold_metrics=fold_metrics,
            tags=tags, files=files,
        )  # fmt: skip

    def _log_version(
        self,
        directory: Path,
        artifact_path: str,
        *,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, float],
        fold_metrics: FoldMetrics,
        tags: dict[str, str],
        files: Sequence[Path],
    ) -> ModelVersionInfo:
        """One run logging ``directory`` under ``artifact_path`` (and ``files`` under ``report/``); a new
        version of ``name`` from it, aliased ``candidate``."""
        for file in files:
            if not Path(file).is_file():
                raise RegistryError(f"cannot register {name}: report file {file} does not exist")
        with self._errors(f"registering model {name!r}"):
            experiment = self._client.get_experiment_by_name(name)
            experiment_id = (
                experiment.experiment_id
                if experiment is not None
                else self._client.create_experiment(name, artifact_location=self._artifact_location)
            )
            run = self._client.create_run(experiment_id, run_name=f"{name}-{int(time.time())}")
            run_id = run.info.run_id
            self._log(run_id, params, metrics, fold_metrics, tags)
            self._client.log_artifacts(run_id, str(directory), artifact_path)
            for file in files:
                self._client.log_artifact(run_id, str(file), _REPORT_PATH)
            self._client.set_terminated(run_id)
            if not self._exists(name):
                self._client.create_registered_model(name)
            source = f"{run.info.artifact_uri}/{artifact_path}"
            created = self._client.create_model_version(name, source, run_id)
            self._client.set_registered_model_alias(name, CANDIDATE, created.version)
        return self.version(name, int(created.version))

    def _log(
        self,
        run_id: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        fold_metrics: FoldMetrics,
        tags: Mapping[str, str],
    ) -> None:
        now = int(time.time() * 1000)
        logged = [Param(_key(k), str(v)[:MAX_PARAM_VAL_LENGTH]) for k, v in params.items()]
        run_tags = [RunTag(_key(k), str(v)[:MAX_TAG_VAL_LENGTH]) for k, v in tags.items()]
        values = [Metric(_key(k), v, now, 0) for k, v in _finite(metrics).items()]
        values += [
            Metric(_key(_FOLD_PREFIX + k), v, now, fold)
            for fold, row in enumerate(fold_metrics)
            for k, v in _finite(row).items()
        ]
        for chunk in _chunks(logged, MAX_PARAMS_TAGS_PER_BATCH):
            self._client.log_batch(run_id, params=chunk)
        for chunk in _chunks(run_tags, MAX_PARAMS_TAGS_PER_BATCH):
            self._client.log_batch(run_id, tags=chunk)
        for chunk in _chunks(values, MAX_METRICS_PER_BATCH):
            self._client.log_batch(run_id, metrics=chunk)

    def _exists(self, name: str) -> bool:
        try:
            self._client.get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return False
            raise
        return True

    def _model(self, name: str) -> RegisteredModel:
        with self._errors(f"model {name!r}"):
            return self._client.get_registered_model(name)

    def _info(self, mv: ModelVersion, aliases: Mapping[str, int]) -> ModelVersionInfo:
        run_id = mv.run_id
        if run_id is None:  # registered from outside this registry: a version without a run
            raise RegistryError(f"model {mv.name!r} version {mv.version} has no run: it was not registered here")
        with self._errors(f"run {run_id} of {mv.name} version {mv.version}"):
            data = self._client.get_run(run_id).data
        return ModelVersionInfo(
            name=mv.name,
            version=int(mv.version),
            run_id=run_id,
            created=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
            aliases=tuple(sorted(alias for alias, v in aliases.items() if int(v) == int(mv.version))),
            params=dict(data.params),
            metrics={k: v for k, v in data.metrics.items() if not k.startswith(_FOLD_PREFIX)},
            tags={k: v for k, v in data.tags.items() if not k.startswith(_SYSTEM_TAG_PREFIX)},
            source=mv.source or "",
        )

    def _infos(self, versions: Iterable[ModelVersion]) -> list[ModelVersionInfo]:
        aliases: dict[str, dict[str, int]] = {}
        infos = []
        for mv in versions:
            if mv.name not in aliases:
                aliases[mv.name] = {k: int(v) for k, v in self._model(mv.name).aliases.items()}
            infos.append(self._info(mv, aliases[mv.name]))
        return sorted(infos, key=lambda info: (info.created, info.name, info.version), reverse=True)

    def versions(self, name: str | None = None) -> list[ModelVersionInfo]:
        """Every version of model ``name`` (of every model when ``None``), newest first."""
        if name is not None:
            self._model(name)
        query = None if name is None else f"name = '{name}'"
        with self._errors("listing model versions"):
            found = list(self._client.search_model_versions(query))
        return self._infos(found)

    def version(self, name: str, version: int | None = None, alias: str | None = None) -> ModelVersionInfo:
        """Version ``version`` of ``name``, or the one ``alias`` points at; the latest when neither is given."""
        if version is not None and alias is not None:
            raise RegistryError("give a version or an alias, not both")
        model = self._model(name)
        aliases = {k: int(v) for k, v in model.aliases.items()}
        if alias is not None:
            if alias not in aliases:
                known = ", ".join(sorted(aliases)) or "none"
                raise RegistryError(f"model {name!r} has no alias {alias!r} (aliases: {known})")
            version = aliases[alias]
        if version is None:
            latest = self.versions(name)
            if not latest:
                raise RegistryError(f"model {name!r} has no versions")
            return latest[0]
        with self._errors(f"model {name!r} version {version}"):
            mv = self._client.get_model_version(name, str(version))
        return self._info(mv, aliases)

    def fold_metrics(self, name: str, version: int) -> FoldMetrics:
        """The per-fold metrics logged with version ``version`` of ``name``, in fold order."""
        info = self.version(name, version)
        with self._errors(f"metrics of {name!r} version {version}"):
            keys = [k for k in self._client.get_run(info.run_id).data.metrics if k.startswith(_FOLD_PREFIX)]
            history = {k.removeprefix(_FOLD_PREFIX): self._client.get_metric_history(info.run_id, k) for k in keys}
        folds: dict[int, dict[str, float]] = {}
        for key, points in history.items():
            for point in points:
                folds.setdefault(point.step, {})[key] = point.value
        return [folds[step] for step in sorted(folds)]

    def _history(self, model: RegisteredModel) -> list[int]:
        raw = model.tags.get(_HISTORY_TAG)
        return [int(v) for v in json.loads(raw)] if raw else []

    def _set_history(self, name: str, history: list[int]) -> None:
        with self._errors(f"model {name!r}"):
            self._client.set_registered_model_tag(name, _HISTORY_TAG, json.dumps(history))

    def promote(self, name: str, version: int) -> ModelVersionInfo:
        """Point ``production`` at version ``version`` of ``name`` and record it in the promotion history."""
        model = self._model(name)
        self.version(name, version)  # raises for an unknown version
        history = self._history(model)
        if history and history[-1] == version:
            return self.version(name, version)
        with self._errors(f"promoting model {name!r} version {version}"):
            self._client.set_registered_model_alias(name, PRODUCTION, str(version))
        self._set_history(name, [*history, version])
        return self.version(name, version)

    def rollback(self, name: str) -> ModelVersionInfo:
        """Point ``production`` back at the version promoted before the current one."""
        history = self._history(self._model(name))
        if len(history) < 2:
            current = f"version {history[-1]}" if history else "any version (none was ever promoted)"
            raise RegistryError(f"cannot roll back {name!r}: no version was promoted to production before {current}")
        previous = history[-2]
        with self._errors(f"rolling back model {name!r} to version {previous}"):
            self._client.set_registered_model_alias(name, PRODUCTION, str(previous))
        self._set_history(name, history[:-1])
        return self.version(name, previous)

    def download(self, name: str, version: int | None = None, alias: str | None = PRODUCTION, *, dst: Path) -> Path:
        """Copy the bundle of ``name`` (``version``, else the version ``alias`` points at) into ``dst``.

        Returns the bundle directory (``dst/ensemble``), ready for ``load_ensemble``.
        """
        info = self.version(name, version) if version is not None else self.version(name, alias=alias)
        Path(dst).mkdir(parents=True, exist_ok=True)
        with self._errors(f"downloading {name!r} version {info.version}"):
            local = self._client.download_artifacts(info.run_id, _BUNDLE_PATH, str(dst))
        return Path(local)
