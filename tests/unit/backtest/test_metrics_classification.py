"""Classification metrics (scikit-learn underneath) on confusion matrices worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trading_agent.backtest.metrics import ClassificationMetrics, MetricsInputError, classification_metrics

# TP at 0, 3, 6; FN at 2; FP at 5; TN at 1, 4, 7.
Y_TRUE = [1, 0, 1, 1, 0, 0, 1, 0]
Y_PRED = [1, 0, 0, 1, 0, 1, 1, 0]
Y_SCORE = [0.9, 0.1, 0.4, 0.8, 0.3, 0.6, 0.7, 0.2]


def test_binary_by_hand() -> None:
    result = classification_metrics(Y_TRUE, Y_PRED, Y_SCORE)
    assert result.accuracy == pytest.approx(6 / 8)
    assert result.precision == pytest.approx(3 / 4)  # TP / (TP + FP)
    assert result.recall == pytest.approx(3 / 4)  # TP / (TP + FN)
    assert result.f1 == pytest.approx(3 / 4)
    # (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (9 - 1) / sqrt(4^4)
    assert result.mcc == pytest.approx(8 / 16)
    # positives score .9 .4 .8 .7, negatives .1 .3 .6 .2: 15 of the 16 pairs are ordered (.4 < .6 is not)
    assert result.roc_auc == pytest.approx(15 / 16)
    # by score: P P P N P N N N -> precision at each positive 1, 1, 1, 4/5
    assert result.pr_auc == pytest.approx((1 + 1 + 1 + 0.8) / 4)


def test_long_short_labels_and_a_predict_proba_matrix() -> None:
    truth = [1 if y else -1 for y in Y_TRUE]
    predicted = [1 if y else -1 for y in Y_PRED]
    proba = np.column_stack([1 - np.array(Y_SCORE), Y_SCORE])
    assert classification_metrics(truth, predicted, proba) == classification_metrics(Y_TRUE, Y_PRED, Y_SCORE)


def test_three_classes_macro_averaged() -> None:
    truth = [-1, -1, 0, 0, 1, 1]
    predicted = [-1, 0, 0, 0, 1, -1]
    # per class: -1 precision 1/2 recall 1/2; 0 precision 2/3 recall 1; 1 precision 1 recall 1/2
    scores = np.array(
        [[0.8, 0.1, 0.1], [0.4, 0.5, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.5, 0.2, 0.3]]
    )
    result = classification_metrics(truth, predicted, scores)
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.precision == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert result.recall == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    f1s = [2 * p * r / (p + r) for p, r in ((1 / 2, 1 / 2), (2 / 3, 1), (1, 1 / 2))]
    assert result.f1 == pytest.approx(sum(f1s) / 3)
    # one-vs-rest: class -1 scores .8 .4 against .1 .2 .1 .5 -> 7 of 8 pairs; class 0 and 1 perfectly ranked
    assert result.roc_auc == pytest.approx((7 / 8 + 1 + 1) / 3)


def test_undefined_values_are_nan() -> None:
    no_positive_predicted = classification_metrics([1, 0, 1], [0, 0, 0], [0.2, 0.1, 0.3])
    assert math.isnan(no_positive_predicted.precision)
    assert no_positive_predicted.recall == 0.0
    one_class = classification_metrics([1, 1, 1], [1, 0, 1], [0.9, 0.2, 0.8])
    assert math.isnan(one_class.roc_auc)
    assert math.isnan(one_class.pr_auc)
    unscored = classification_metrics(Y_TRUE, Y_PRED)
    assert math.isnan(unscored.roc_auc)
    assert unscored.accuracy == pytest.approx(0.75)


def test_bad_input() -> None:
    with pytest.raises(MetricsInputError, match="y_true and y_pred differ in length"):
        classification_metrics([1, 0], [1])
    with pytest.raises(MetricsInputError, match="y_true is empty"):
        classification_metrics([], [])
    with pytest.raises(MetricsInputError, match="y_score"):
        classification_metrics(Y_TRUE, Y_PRED, Y_SCORE[:-1])
    with pytest.raises(MetricsInputError, match="y_score"):
        classification_metrics([-1, 0, 1], [-1, 0, 1], [0.1, 0.5, 0.9])


def test_to_dict() -> None:
    result = ClassificationMetrics(
        accuracy=0.5, precision=math.nan, recall=0.0, f1=0.0, roc_auc=0.5, pr_auc=0.5, mcc=0.0
    )
    as_dict = result.to_dict()
    assert list(as_dict) == ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "mcc"]
    assert math.isnan(as_dict["precision"])
