"""Classification metrics of a model's signals, computed by scikit-learn (``sklearn.metrics``).

Binary labels (two classes; the positive class is the greater label: 1 of {0, 1} or {-1, 1}) use
``average="binary"``; three or more classes (the triple barrier's {-1, 0, 1}) use macro averages
and one-vs-rest ROC-AUC. Undefined values are NaN: precision with no predicted positive, recall
with no actual positive, F1 when both are undefined, ROC-AUC and PR-AUC when ``y_true`` holds one
class or no scores are given. MCC follows scikit-learn and is 0 when undefined.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_agent.backtest.metrics_inputs import MetricsInputError

__all__ = ["ClassificationMetrics", "classification_metrics"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassificationMetrics:
    """Out-of-sample quality of a model's predictions; every field is a fraction in [0, 1] except ``mcc`` in [-1, 1].

    ``pr_auc`` is the average precision (the step-wise area under the precision-recall curve,
    not the trapezoidal one).
    """

    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    pr_auc: float
    mcc: float

    def to_dict(self) -> dict[str, float]:
        """The metrics as JSON-ready floats (NaN stays NaN), keyed by field name."""
        return {name: float(value) for name, value in asdict(self).items()}


def classification_metrics(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    y_score: npt.ArrayLike | None = None,
    *,
    labels: Sequence[Any] | None = None,
) -> ClassificationMetrics:
    """Accuracy, precision, recall, F1, ROC-AUC, PR-AUC (average precision) and MCC of ``y_pred`` against ``y_true``.

    ``y_score`` ranks the samples: for two classes, the score (probability) of the positive class,
    one per sample (a two-column ``predict_proba`` is accepted: column 1 is used); for more, an
    ``n x k`` probability matrix whose columns follow ``labels``. ``labels`` defaults to the sorted
    classes seen in ``y_true`` and ``y_pred``; pass the model's ``classes_`` when some class may be
    absent (with a single class seen and no ``labels``, that class is taken as the positive one).
    Trap: the scores must come from the same out-of-sample rows as the predictions.
    """
    from sklearn import metrics  # imported on use: scikit-learn takes a second or two to import

    truth, predicted = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if truth.size != predicted.size:
        raise MetricsInputError(f"y_true and y_pred differ in length: {truth.size} != {predicted.size}")
    if truth.size == 0:
        raise MetricsInputError("y_true is empty")
    classes = np.unique(np.concatenate((truth, predicted))) if labels is None else np.asarray(labels)
    binary = classes.size <= 2
    averaging: dict[str, Any] = {"average": "binary", "pos_label": classes[-1]} if binary else {"average": "macro"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined values are reported as NaN (or MCC's 0), as documented
        precision, recall, f1, _ = metrics.precision_recall_fscore_support(
            truth, predicted, labels=None if binary else classes, zero_division=np.nan, **averaging
        )
        mcc = metrics.matthews_corrcoef(truth, predicted)
        roc_auc, pr_auc = _ranking_metrics(truth, y_score, classes)
    return ClassificationMetrics(
        accuracy=float(metrics.accuracy_score(truth, predicted)),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        roc_auc=roc_auc,
        pr_auc=pr_auc,
        mcc=float(mcc),
    )


def _labels(values: npt.ArrayLike, name: str) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise MetricsInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _ranking_metrics(
    truth: npt.NDArray[Any], y_score: npt.ArrayLike | None, classes: npt.NDArray[Any]
) -> tuple[float, float]:
    from sklearn import metrics

    if y_score is None:
        return math.nan, math.nan
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.shape[0] != truth.size or not np.all(np.isfinite(scores)):
        raise MetricsInputError(
            f"y_score must be finite with one row per sample ({truth.size}), got shape {scores.shape}"
        )
    if np.unique(truth).size < 2:
        return math.nan, math.nan
    if classes.size <= 2:
        positive_scores = scores[:, -1] if scores.ndim == 2 else scores
        positive = truth == classes[-1]
        return float(metrics.roc_auc_score(positive, positive_scores)), float(
            metrics.average_precision_score(positive, positive_scores)
        )
    if scores.shape != (truth.size, classes.size):
        raise MetricsInputError(
            f"y_score must be {truth.size} x {classes.size} (one column per label), got {scores.shape}"
        )
    indicator = truth[:, None] == classes[None, :]
    present = indicator.any(axis=0)  # a class absent from y_true has no ROC or PR curve
    roc_auc = metrics.roc_auc_score(indicator[:, present], scores[:, present], average="macro")
    return float(roc_auc), float(
        metrics.average_precision_score(indicator[:, present], scores[:, present], average="macro")
    )
