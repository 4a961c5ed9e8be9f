"""Every base model by its short key: the four tree models and the four sequence models.

``make_model("lgbm")`` or ``make_model("tcn", window=64)`` builds an unfitted model of either kind;
the trainer and the config name models by these keys.
"""

from __future__ import annotations

from typing import Any

from trading_agent.models.base import Model
from trading_agent.models.sequence import SEQUENCE_MODELS, make_sequence_model
from trading_agent.models.trees import TREE_MODELS, make_tree_model

__all__ = ["MODEL_KEYS", "make_model"]

MODEL_KEYS: tuple[str, ...] = (*TREE_MODELS, *SEQUENCE_MODELS)
"""The tree models ("lgbm", "xgb", "catboost", "rf"), then the sequence ones ("lstm", "transformer", "tcn", "gru")."""


def make_model(key: str, **params: Any) -> Model:
    """A new, unfitted model for ``key`` (one of ``MODEL_KEYS``); ``params`` override its defaults."""
    if key in TREE_MODELS:
        return make_tree_model(key, **params)
    if key in SEQUENCE_MODELS:
        return make_sequence_model(key, **params)
    raise ValueError(f"unknown model {key!r}; known: {', '.join(MODEL_KEYS)}")
