import math
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.metrics import log_loss

from tests.testkit.training import TINY_PARAMS, planted_training_set, small_folds
from trading_agent.models.catalog import make_model
from trading_agent.models.predictor import probability_up
from trading_agent.models.sequence import SEQUENCE_MODELS
from trading_agent.models.trees import TREE_MODELS, make_tree_model
from trading_agent.training.dataset import TrainingSet
from trading_agent.training.splits import Split
from trading_agent.training.tuning import SEARCH_SPACES, TuningConfig, TuningObjective, tune_model

DATA = planted_training_set()
FOLDS = small_folds(DATA)
FAST = TINY_PARAMS["lgbm"]


def _log_loss_config(**overrides: object) -> TuningConfig:
    return TuningConfig(**{"trials": 6, "objective": TuningObjective.LOG_LOSS, **overrides})  # type: ignore[arg-type]


def _default_value(data: TrainingSet, folds: list[Split], params: dict[str, int]) -> float:
    """Minus the weighted log-loss of the default-parameter model, averaged over the folds."""
    values = []
    for fold in folds:
        model = make_tree_model("lgbm", **params).fit(data.X[fold.train], data.y[fold.train], data.weight[fold.train])
        p_up = probability_up(model, data.X[fold.test])
        values.append(-log_loss(data.y[fold.test], p_up, sample_weight=data.weight[fold.test], labels=[0, 1]))
    return float(np.mean(values))


def test_on_a_low_signal_set_the_log_loss_search_returns_its_best_trial_and_beats_the_defaults() -> None:
    # what the shallow, regularised spaces are for: a weak signal in noise (the defaults overfit it)
    weak = planted_training_set(strength=0.15)
    folds = small_folds(weak)
    assert len(folds) == 3
    result = tune_model("lgbm", weak, folds, _log_loss_config(), fixed_params=FAST)
    assert result.model == "lgbm"
    assert result.n_trials == 6 and result.n_complete + result.n_pruned == 6
    assert len(result.values) == result.n_complete >= 5  # no pruning before n_startup_trials complete
    assert result.best_value == max(result.values) and result.best_value < 0
    assert result.best_value >= _default_value(weak, folds, FAST)
    assert result.best_params["n_estimators"] == 20  # fixed_params win over the drawn value
    drawn = {**result.best_params, "n_estimators": 100}
    assert set(result.best_params) == set(SEARCH_SPACES["lgbm"](optuna.trial.FixedTrial(drawn))) | set(FAST)


@pytest.mark.parametrize("key", sorted(TREE_MODELS))
def test_every_model_has_a_search_space_whose_best_params_rebuild_it(key: str) -> None:
    config = _log_loss_config(trials=2, n_startup_trials=2)
    result = tune_model(key, DATA, FOLDS[-1:], config, fixed_params=TINY_PARAMS[key])
    model = make_tree_model(key, **result.best_params)
    assert {name: model.params[name] for name in result.best_params} == result.best_params
    assert result.n_complete == 2 and math.isfinite(result.best_value)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("key", sorted(SEQUENCE_MODELS))
def test_a_sequence_model_is_tuned_on_the_windows_ending_at_the_fold_rows(key: str) -> None:
    config = _log_loss_config(trials=2, n_startup_trials=2)
    tiny = {"window": 8, "hidden": 8, "epochs": 2, **({"layers": 3} if key == "tcn" else {})}
    result = tune_model(key, DATA, FOLDS[-1:], config, fixed_params=tiny)
    model = make_model(key, **result.best_params)
    assert model.window == 8 and {name: model.params[name] for name in result.best_params} == result.best_params
    assert result.n_complete == 2 and math.isfinite(result.best_value)


def test_score_is_called_once_per_fold_per_trial_on_the_folds_test_rows() -> None:
    calls: list[np.ndarray] = []

    def score(test_rows: np.ndarray, p_up: np.ndarray) -> float:
        assert len(test_rows) == len(p_up) and np.all((p_up >= 0) & (p_up <= 1))
        calls.append(test_rows)
        return float(np.mean(np.where(p_up > 0.5, DATA.ret[test_rows], -DATA.ret[test_rows])))

    config = TuningConfig(trials=4, n_startup_trials=4)  # the pruner waits for 4 complete trials: none is pruned
    result = tune_model("lgbm", DATA, FOLDS, config, score=score, fixed_params=FAST)
    assert result.n_complete == 4 and result.n_pruned == 0
    assert len(calls) == 4 * len(FOLDS)
    for i, rows in enumerate(calls):
        np.testing.assert_array_equal(rows, FOLDS[i % len(FOLDS)].test)
    assert result.best_value > 0  # the planted signal trades profitably


def test_the_pruner_stops_trials_whose_first_fold_is_hopeless() -> None:
    first_fold = FOLDS[0].test
    calls = {"n": 0}
    startup = 3

    def adversarial(test_rows: np.ndarray, p_up: np.ndarray) -> float:
        calls["n"] += 1
        after_startup = calls["n"] > startup * len(FOLDS)
        return -100.0 if after_startup and np.array_equal(test_rows, first_fold) else 1.0

    config = TuningConfig(trials=6, n_startup_trials=startup)
    result = tune_model("lgbm", DATA, FOLDS, config, score=adversarial, fixed_params=FAST)
    assert result.n_complete == startup and result.n_pruned == 3
    assert result.n_complete + result.n_pruned == result.n_trials == 6
    assert calls["n"] == startup * len(FOLDS) + 3  # a pruned trial stops after its first fold
    assert result.values == (1.0, 1.0, 1.0) and result.best_value == 1.0


def test_a_fold_without_trades_counts_as_zero_and_an_infinite_score_raises() -> None:
    config = TuningConfig(trials=2, n_startup_trials=2)
    result = tune_model("lgbm", DATA, FOLDS, config, score=lambda rows, p: math.nan, fixed_params=FAST)
    assert result.values == (0.0, 0.0) and result.best_value == 0.0
    with pytest.raises(ValueError, match="must be finite or NaN"):
        tune_model("lgbm", DATA, FOLDS, config, score=lambda rows, p: math.inf, fixed_params=FAST)


def test_the_same_seed_gives_the_same_search() -> None:
    config = _log_loss_config(trials=4, seed=3)
    first = tune_model("lgbm", DATA, FOLDS[-1:], config, fixed_params=FAST)
    again = tune_model("lgbm", DATA, FOLDS[-1:], config, fixed_params=FAST)
    other = tune_model("lgbm", DATA, FOLDS[-1:], _log_loss_config(trials=4, seed=4), fixed_params=FAST)
    assert first == again
    assert other.best_params != first.best_params


def test_progress_is_reported_after_every_trial_and_optuna_verbosity_is_restored() -> None:
    seen: list[tuple[int, int]] = []
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        tune_model(
            "lgbm", DATA, FOLDS[-1:], _log_loss_config(trials=3), fixed_params=FAST, on_trial=lambda *a: seen.append(a)
        )
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_stored_study_is_shared_and_remembers_its_model_and_objective(tmp_path: Path) -> None:
    config = _log_loss_config(
        trials=2, n_startup_trials=2, storage=f"sqlite:///{tmp_path / 'optuna.db'}", study_name="s"
    )
    assert tune_model("lgbm", DATA, FOLDS[-1:], config, fixed_params=FAST).n_trials == 2
    resumed = tune_model("lgbm", DATA, FOLDS[-1:], config, fixed_params=FAST)
    assert resumed.n_trials == 4 and resumed.best_value == max(resumed.values)
    with pytest.raises(ValueError, match="study 's' was made for model 'lgbm', not 'xgb'"):
        tune_model("xgb", DATA, FOLDS[-1:], config)
    sharpe = TuningConfig(trials=1, storage=config.storage, study_name="s")
    with pytest.raises(ValueError, match="study 's' was made for objective 'log_loss', not 'sharpe'"):
        tune_model("lgbm", DATA, FOLDS[-1:], sharpe, score=lambda rows, p: 0.0)


def test_a_storage_that_another_application_migrated_is_refused_with_the_reason(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    with closing(sqlite3.connect(database)) as connection:  # what the trading agent's migrations leave behind
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('0007_app_revision')")
        connection.commit()
    config = _log_loss_config(trials=1, storage=f"sqlite:///{database}", study_name="s")
    with pytest.raises(ValueError, match="give the studies a database"):
        tune_model("lgbm", DATA, FOLDS[-1:], config, fixed_params=FAST)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trials": 0}, "trials must be an integer >= 1"),
        ({"trials": True}, "trials must be an integer >= 1"),
        ({"objective": "profit"}, "unknown objective 'profit'; known: sharpe, sortino, log_loss"),
        ({"storage": " "}, "storage must be None or a non-empty SQLAlchemy URL"),
        ({"storage": "sqlite://"}, "study_name is required with a storage"),
        ({"study_name": ""}, "study_name must be None or a non-empty string"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"n_startup_trials": -1}, "n_startup_trials must be an integer >= 0"),
        ({"timeout_s": 0}, "timeout_s must be None or a positive number"),
        ({"timeout_s": True}, "timeout_s must be None or a positive number"),
    ],
)
def test_a_bad_config_is_refused_with_the_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TuningConfig(**kwargs)  # type: ignore[arg-type]


def test_an_objective_given_as_a_string_becomes_the_enum() -> None:
    assert TuningConfig(objective="log_loss").objective is TuningObjective.LOG_LOSS  # type: ignore[arg-type]


def test_bad_arguments_are_refused_with_the_reason() -> None:
    config = _log_loss_config(trials=1)
    with pytest.raises(
        ValueError, match=r"unknown model 'svm'; known: catboost, gru, lgbm, lstm, rf, tcn, transformer, xgb"
    ):
        tune_model("svm", DATA, FOLDS, config)
    with pytest.raises(ValueError, match="no folds to tune on"):
        tune_model("lgbm", DATA, [], config)
    with pytest.raises(ValueError, match="the sharpe objective needs a score function"):
        tune_model("lgbm", DATA, FOLDS, TuningConfig(trials=1))
    one_class = FOLDS[0].train[DATA.y[FOLDS[0].train] == 1]
    fold = Split(0, one_class, FOLDS[0].validation, FOLDS[0].test, *range(6))
    with pytest.raises(ValueError, match=r"fold 0 has .* not both classes"):
        tune_model("lgbm", DATA, [fold], config)
    outside = Split(1, FOLDS[0].train, FOLDS[0].validation, np.array([len(DATA)]), *range(6))
    with pytest.raises(ValueError, match="fold 1 indexes rows outside the 3000-row training set"):
        tune_model("lgbm", DATA, [outside], config)
