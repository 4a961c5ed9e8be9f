"""RL policies in the model registry: the same MLflow runs, versions and aliases as the ensemble bundles.

``ModelRegistry.register`` accepts only an ensemble bundle (it checks ``ensemble.json`` first, so that
no unloadable version is ever registered). A trained RL policy is a different directory
(``models.rl_policy``: ``policy.zip``, ``scaler.npz``, ``metadata.json``), so ``PolicyRegistry`` checks
that layout instead and logs through the same steps as ``register`` (``_log_version``): one run with params, metrics,
per-fold metrics and tags, the policy under the artifact path ``policy/``, the report files under
``report/``, a new version aliased ``candidate``. Listing, promoting and rolling back are the base
class's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trading_agent.models.base import ModelInputError
from trading_agent.models.rl_policy import RLPolicy, read_policy_metadata
from trading_agent.registry.mlflow_registry import (
    FoldMetrics,
    ModelRegistry,
    ModelVersionInfo,
    RegistryError,
)

__all__ = ["POLICY_PATH", "PolicyRegistry"]

POLICY_PATH = "policy"


class PolicyRegistry(ModelRegistry):
    """The model registry, plus ``register_policy`` for directories written by ``RLPolicy.save``."""

    def register_policy(
        self,
        policy_dir: Path,
        *,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, float],
        fold_metrics: FoldMetrics,
        tags: dict[str, str],
        files: Sequence[Path] = (),
    ) -> ModelVersionInfo:
        """Log the policy at ``policy_dir`` as a new run and version of model ``name``; it becomes ``candidate``."""
        policy_dir = Path(policy_dir)
        try:
            read_policy_metadata(policy_dir)
        except ModelInputError as exc:
            raise RegistryError(f"cannot register {name}: {exc}") from exc
        return self._log_version(
            policy_dir, POLICY_PATH, name=name, params=params, metrics=metrics, fold_metrics=fold_metrics,
            tags=tags, files=files,
        )  # fmt: skip

    def load_policy(self, name: str, version: int, dst: Path) -> RLPolicy:
        """Download version ``version`` of policy ``name`` into ``dst`` and load it."""
        info = self.version(name, version)
        Path(dst).mkdir(parents=True, exist_ok=True)
        with self._errors(f"downloading policy {name!r} version {version}"):
            local = self._client.download_artifacts(info.run_id, POLICY_PATH, str(dst))
        return RLPolicy.load(Path(local))
