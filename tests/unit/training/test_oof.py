import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.testkit.training import planted_training_set
from trading_agent.models.trees import make_tree_model
from trading_agent.training.dataset import TrainingSet
from trading_agent.training.oof import FoldSetup, run_fold
from trading_agent.training.splits import WalkForwardConfig, purged_walk_forward


def _planted(n: int, seed: int = 0) -> TrainingSet:
    """Hourly rows whose first feature carries the outcome, plus noise features; 24-bar labels."""
    return planted_training_set(n, n_features=6, n_signal=1, strength=0.8, seed=seed)


def test_a_fold_predicts_only_rows_it_never_fitted_on_and_learns_the_planted_signal() -> None:
    data = _planted(24 * 120)
    config = WalkForwardConfig(train_days=60, validation_days=20, test_days=20, step_days=10, n_splits=2)
    splits = purged_walk_forward(data.open_ms, data.label_end_ms, config)
    setup = FoldSetup(
        {"lgbm": lambda: make_tree_model("lgbm", n_estimators=50), "rf": lambda: make_tree_model("rf", n_estimators=50)}
    )
    for split in splits:
        result = run_fold(data, split, setup)
        assert not set(result.test_rows) & (set(split.train) | set(split.validation))
        assert data.label_end_ms[split.train].max() < data.open_ms[split.validation].min()
        out = result.output
        assert set(out.votes) == {"lgbm", "rf"} and len(out.prediction) == len(split.test)
        assert np.all((out.prediction >= 0) & (out.prediction <= 1)) and np.all(out.confidence >= 0.5)
        assert roc_auc_score(data.y[result.test_rows], out.prediction) > 0.8


def test_noise_is_not_learned_out_of_sample() -> None:
    data = _planted(24 * 120, seed=1)
    shuffled = TrainingSet(
        data.X[:, 1:],
        data.y,
        data.open_ms,
        data.label_end_ms,
        data.weight,
        data.ret,
        data.feature_names[1:],
        data.timeframe,
    )
    config = WalkForwardConfig(train_days=60, validation_days=20, test_days=20, step_days=10, n_splits=1)
    split = purged_walk_forward(shuffled.open_ms, shuffled.label_end_ms, config)[0]
    result = run_fold(shuffled, split, FoldSetup({"lgbm": lambda: make_tree_model("lgbm", n_estimators=50)}))
    assert abs(roc_auc_score(shuffled.y[result.test_rows], result.output.prediction) - 0.5) < 0.1


def test_setup_is_checked() -> None:
    with pytest.raises(ValueError, match="at least one base model"):
        FoldSetup({})
    with pytest.raises(ValueError, match="unknown meta model 'vote'"):
        FoldSetup({"lgbm": lambda: make_tree_model("lgbm")}, meta="vote")
