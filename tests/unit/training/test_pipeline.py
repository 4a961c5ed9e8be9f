"""The walk-forward run: one ensemble per fold, stitched so each row is traded by the latest model."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from tests.testkit.models import tiny_sequence_model
from tests.testkit.training import TINY_PARAMS, planted_training_set, small_folds
from trading_agent.models.trees import make_tree_model
from trading_agent.training.oof import FoldSetup
from trading_agent.training.pipeline import feature_importances, walk_forward_run
from trading_agent.training.splits import WalkForwardConfig, purged_walk_forward

SETUP = FoldSetup({key: (lambda key=key: make_tree_model(key, **TINY_PARAMS[key])) for key in ("lgbm", "rf")})


def test_the_stitched_record_is_each_rows_latest_model_and_never_a_row_it_fitted_on() -> None:
    data = planted_training_set(24 * 125, n_features=8, n_signal=2)
    splits = small_folds(data)
    seen: list[tuple[int, int]] = []
    run = walk_forward_run(data, splits, SETUP, on_fold=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    record = run.out_of_sample
    assert np.all(np.diff(data.open_ms[record.rows]) > 0)  # time order, no row twice
    for row, fold in zip(record.rows, record.fold, strict=True):
        split = splits[fold]
        assert row in split.test and row not in split.train and row not in split.validation
        started = [s.index for s in splits if s.test_start_ms <= data.open_ms[row]]
        assert fold == max(started)  # the most recent model whose test window had begun
    last = splits[-1]
    assert record.rows[0] == splits[0].test[0] and record.rows[-1] == last.test[-1]
    assert set(record.votes) == {"lgbm", "rf"} and len(record.prediction) == len(record.rows)
    assert roc_auc_score(data.y[record.rows], record.prediction) > 0.75  # the planted signal, out of sample


def test_overlapping_test_windows_are_counted_once() -> None:
    data = planted_training_set(24 * 125, n_features=6, n_signal=1)
    config = WalkForwardConfig(train_days=40, validation_days=10, test_days=30, step_days=7, n_splits=4)
    splits = purged_walk_forward(data.open_ms, data.label_end_ms, config)
    record = walk_forward_run(data, splits, SETUP).out_of_sample
    assert len(np.unique(record.rows)) == len(record.rows)
    assert np.bincount(record.fold).tolist() == [24 * 7] * 3 + [24 * 30]


def test_feature_importances_are_shares_that_find_the_planted_features() -> None:
    data = planted_training_set(2000, n_features=10, n_signal=2, strength=1.0)
    models = [make_tree_model(k, **TINY_PARAMS[k]).fit(data.X, data.y, feature_names=data.feature_names)
              for k in ("lgbm", "xgb", "catboost", "rf")]  # fmt: skip
    shares = feature_importances(models, data.feature_names)
    assert abs(sum(shares.values()) - 1) < 1e-9 and list(shares.values()) == sorted(shares.values(), reverse=True)
    assert set(list(shares)[:2]) == {"f0", "f1"}
    assert feature_importances([], data.feature_names) == {}


def test_a_sequence_model_trains_and_votes_beside_a_tree_in_every_fold() -> None:
    data = planted_training_set(24 * 125, n_features=6, n_signal=2, strength=1.0)
    setup = FoldSetup(
        {
            "lgbm": lambda: make_tree_model("lgbm", **TINY_PARAMS["lgbm"]),
            "tcn": lambda: tiny_sequence_model("tcn", window=8, layers=3),
        }
    )
    run = walk_forward_run(data, small_folds(data), setup)
    assert all(fold.predictor.window == 8 for fold in run.folds)
    record = run.out_of_sample
    assert set(record.votes) == {"lgbm", "tcn"}
    assert roc_auc_score(data.y[record.rows], record.votes["tcn"]) > 0.75  # the TCN learned the signal too
    assert roc_auc_score(data.y[record.rows], record.prediction) > 0.75
