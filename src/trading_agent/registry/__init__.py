"""The model registry: versioned ensemble bundles with ``production``/``candidate`` aliases (MLflow).

An adapter: it imports the domain and the models (the bundle format), never config, storage or an
interface. The service layer (``services/models.py``) builds it from the settings.
"""

from trading_agent.registry.mlflow_registry import (
    CANDIDATE,
    PRODUCTION,
    FoldMetrics,
    ModelRegistry,
    ModelVersionInfo,
    RegistryError,
)

__all__ = ["CANDIDATE", "PRODUCTION", "FoldMetrics", "ModelRegistry", "ModelVersionInfo", "RegistryError"]
