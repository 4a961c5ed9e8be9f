"""Gradient-boosted and bagged tree classifiers behind the one ``Model`` protocol.

Four thin wrappers over the real libraries — LightGBM, XGBoost, CatBoost and scikit-learn's random
forest — share one base class (``TreeModel``) that does everything but the library calls: input
checks, label encoding (any integer labels, e.g. ``-1/0/1``, become ``0..k-1`` inside the library and
``metadata.classes`` keeps the original sorted labels), metadata, and the save/load directory layout
(the library's native model file plus ``metadata.json``). Each subclass only fits, predicts and
reads/writes its native file.

``TREE_MODELS`` and ``make_tree_model`` build a model from a short key ("lgbm", "xgb", "catboost", "rf").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from trading_agent.models.base import (
    InputKind,
    ModelInputError,
    NativeModelBase,
    check_fit_inputs,
    check_predict_input,
    encode_labels,
    feature_names_for,
    read_model_dir,
)

__all__ = [
    "TREE_MODELS",
    "CatBoostModel",
    "LightGBMModel",
    "RandomForestModel",
    "TreeModel",
    "XGBoostModel",
    "make_tree_model",
]


class TreeModel(NativeModelBase, ABC):
    """The shared half of every tree model: checks, label encoding, metadata and the save/load layout.

    Subclasses set ``family``, ``default_params``, ``distributions`` (the pip names whose versions go into
    the metadata) and ``native_file``, and implement the library hooks ``_fit_native``,
    ``_save_native`` and ``_load_native`` (and ``_proba_native`` when it is not ``predict_proba``).
    """

    default_params: ClassVar[dict[str, Any]]
    input_kind: ClassVar[InputKind] = InputKind.TABULAR

    def __init__(self, name: str | None = None, **params: Any) -> None:
        super().__init__(name, {**self.default_params, **params})
        self._estimator: Any = None

    # -- the protocol -------------------------------------------------------------------------------

    @property
    def estimator(self) -> Any:
        """The fitted library object (booster, classifier or forest); ``ModelInputError`` before ``fit``."""
        return self._fitted(self._estimator)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> Self:
        """Fit on rows ``X`` and integer labels ``y`` (any integers); returns self."""
        X, labels, weights = check_fit_inputs(X, y, sample_weight, input_kind=InputKind.TABULAR)
        names = feature_names_for(feature_names, X.shape[1])
        classes, encoded = encode_labels(labels)
        self._estimator = self._fit_native(X, encoded, weights, len(classes))
        self._metadata = self._new_metadata(InputKind.TABULAR, names, classes)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities as float64, shape ``(n, len(classes))``, columns in ``metadata.classes`` order."""
        X = check_predict_input(X, self.metadata)
        proba = np.asarray(self._proba_native(X), dtype=np.float64)
        if proba.ndim == 1:  # a binary booster returns P(class 1) only
            proba = np.column_stack([1.0 - proba, proba])
        n_classes = len(self.metadata.classes)
        if proba.shape != (len(X), n_classes):
            raise ModelInputError(
                f"{self.name} returned probabilities of shape {proba.shape}, not ({len(X)}, {n_classes})"
            )
        normalized: np.ndarray = proba / proba.sum(axis=1, keepdims=True)
        return normalized

    def feature_importances(self) -> np.ndarray:
        """Each feature's share of the model's importance (the library's gain or impurity measure), summing to 1."""
        raw = np.asarray(self._importances_native(), dtype=np.float64)
        total = raw.sum()
        return raw / total if total > 0 else np.full(raw.shape, 1.0 / max(len(raw), 1))

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a model written by ``save``."""
        path = Path(path)
        metadata = read_model_dir(path, cls.family, cls.native_file)
        model = cls(name=metadata.name, **metadata.params)
        model._estimator = model._load_native(path / cls.native_file)
        model._metadata = metadata
        return model

    # -- library hooks -------------------------------------------------------------------------------

    @abstractmethod
    def _fit_native(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, n_classes: int) -> Any:
        """Fit the library on labels ``0..n_classes-1``; return the fitted object."""

    def _proba_native(self, X: np.ndarray) -> np.ndarray:
        """The library's probabilities for checked float32 rows (``(n, k)``, or ``(n,)`` for P(1) if binary).

        The scikit-learn-style ``predict_proba`` by default; LightGBM's booster overrides it.
        """
        return np.asarray(self.estimator.predict_proba(X))

    def _importances_native(self) -> np.ndarray:
        """The library's importance per feature (scikit-learn's ``feature_importances_`` by default)."""
        return np.asarray(self.estimator.feature_importances_)

    @abstractmethod
    def _load_native(self, file: Path) -> Any:
        """Read the library object written by ``_save_native``."""


class LightGBMModel(TreeModel):
    """LightGBM gradient boosting; kept as a ``Booster`` so a fitted and a loaded model are the same thing."""

    family = "lightgbm"
    distributions = ("lightgbm",)
    native_file = "model.txt"
    default_params: ClassVar[dict[str, Any]] = {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 20,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
        "random_state": 0,
        "n_jobs": 2,
        "verbosity": -1,
    }

    def _fit_native(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, n_classes: int) -> Any:
        import lightgbm as lgb

        classifier = lgb.LGBMClassifier(**self.params)
        classifier.fit(X, y, sample_weight=sample_weight)
        return classifier.booster_

    def _proba_native(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.estimator.predict(X, num_threads=self.params.get("n_jobs", 2)))

    def _importances_native(self) -> np.ndarray:
        return np.asarray(self.estimator.feature_importance(importance_type="gain"))

    def _save_native(self, file: Path) -> None:
        self.estimator.save_model(str(file))

    def _load_native(self, file: Path) -> Any:
        import lightgbm as lgb

        return lgb.Booster(model_file=str(file))


class XGBoostModel(TreeModel):
    """XGBoost gradient boosting (histogram trees) through its scikit-learn classifier."""

    family = "xgboost"
    distributions = ("xgboost",)
    native_file = "model.ubj"
    default_params: ClassVar[dict[str, Any]] = {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
        "tree_method": "hist",
        "random_state": 0,
        "n_jobs": 2,
        "verbosity": 0,
    }

    def _fit_native(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, n_classes: int) -> Any:
        import xgboost as xgb

        classifier = xgb.XGBClassifier(**self.params)
        classifier.fit(X, y, sample_weight=sample_weight)
        return classifier

    def _save_native(self, file: Path) -> None:
        self.estimator.save_model(str(file))

    def _load_native(self, file: Path) -> Any:
        import xgboost as xgb

        classifier = xgb.XGBClassifier(**self.params)
        classifier.load_model(str(file))
        return classifier


class CatBoostModel(TreeModel):
    """CatBoost ordered boosting (symmetric trees); writes no training files."""

    family = "catboost"
    distributions = ("catboost",)
    native_file = "model.cbm"
    default_params: ClassVar[dict[str, Any]] = {
        "iterations": 300,
        "learning_rate": 0.05,
        "depth": 6,
        "l2_leaf_reg": 3.0,
        "random_seed": 0,
        "thread_count": 2,
        "verbose": 0,
        "allow_writing_files": False,
    }

    def _fit_native(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, n_classes: int) -> Any:
        from catboost import CatBoostClassifier

        loss = "Logloss" if n_classes == 2 else "MultiClass"
        classifier = CatBoostClassifier(**{"loss_function": loss, **self.params})
        classifier.fit(X, y, sample_weight=sample_weight)
        return classifier

    def _importances_native(self) -> np.ndarray:
        return np.asarray(self.estimator.get_feature_importance())

    def _save_native(self, file: Path) -> None:
        self.estimator.save_model(str(file), format="cbm")

    def _load_native(self, file: Path) -> Any:
        from catboost import CatBoostClassifier

        classifier = CatBoostClassifier()
        classifier.load_model(str(file), format="cbm")
        return classifier


_PARALLEL_ROWS = 1000  # the forest predicts fewer rows than this on one thread


class RandomForestModel(TreeModel):
    """scikit-learn random forest; saved with joblib (load only files you wrote: it is a pickle)."""

    family = "random_forest"
    distributions = ("scikit-learn", "joblib")
    native_file = "model.joblib"
    default_params: ClassVar[dict[str, Any]] = {
        "n_estimators": 300,
        "max_depth": 8,
        "min_samples_leaf": 20,
        "max_features": "sqrt",
        "max_samples": 0.8,
        "bootstrap": True,
        "random_state": 0,
        "n_jobs": 2,
    }

    def _fit_native(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, n_classes: int) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        forest = RandomForestClassifier(**self.params)
        forest.fit(X, y, sample_weight=sample_weight)
        return forest

    def _proba_native(self, X: np.ndarray) -> np.ndarray:
        # joblib's thread dispatch over the 300 trees costs ~12 ms a call: a few rows are faster on one thread
        forest = self.estimator
        forest.n_jobs = 1 if len(X) < _PARALLEL_ROWS else self.params.get("n_jobs", 2)
        return np.asarray(forest.predict_proba(X))

    def _save_native(self, file: Path) -> None:
        import joblib

        joblib.dump(self.estimator, file)

    def _load_native(self, file: Path) -> Any:
        import joblib

        return joblib.load(file)


TREE_MODELS: dict[str, type[TreeModel]] = {
    "lgbm": LightGBMModel,
    "xgb": XGBoostModel,
    "catboost": CatBoostModel,
    "rf": RandomForestModel,
}


def make_tree_model(key: str, **params: Any) -> TreeModel:
    """A new, unfitted tree model for ``key`` ("lgbm", "xgb", "catboost", "rf"); ``params`` override defaults.

    ``name`` may be passed among ``params``. Raises ``ValueError`` for an unknown key.
    """
    try:
        cls = TREE_MODELS[key]
    except KeyError:
        raise ValueError(f"unknown tree model {key!r}; known: {', '.join(sorted(TREE_MODELS))}") from None
    return cls(**params)
