"""Optuna hyperparameter search for the tree models over purged walk-forward folds.

The tuning protocol, one study per model key ("lgbm", "xgb", "catboost", "rf"):

1. a trial draws parameters from the key's search space (``SEARCH_SPACES``), a TPE sampler choosing
   (seeded; its first ``n_startup_trials`` are random); ``fixed_params`` override the drawn ones and
   the model's own defaults (``models.trees``) fill the rest;
2. for each fold, in order, the model is fitted on the fold's training rows (weighted by label
   uniqueness, as the trainer fits) and predicts the probability of "up" on the fold's test rows
   whose label is known; the fold's value is the objective on those rows;
3. after each fold the running mean over the folds so far is reported to a median pruner, which
   stops the trial when that mean is below the median of the earlier trials' at the same fold;
4. the trial's value is the mean over all folds; larger is better (the study maximises).

Objectives: ``sharpe`` and ``sortino`` call the caller's ``score(test_rows, p_up)``, which runs the
strategy backtest with costs on those rows (the engine lives outside the training layer, so it is
injected). A fold whose score is NaN (no trade: a flat equity curve) counts as 0, the value of not
trading, so a model that never trades neither wins by default nor breaks the study; an infinite
score is a bug in ``score`` and raises. ``log_loss`` is the NEGATIVE mean log-loss of ``p_up``
against ``data.y``, weighted by ``data.weight`` (label uniqueness, so overlapping labels count once,
as in training), so that larger is better here too.

Pruning starts at the first fold (``n_warmup_steps=0``): every trial's intermediate value at fold
``k`` is the mean over the same folds, so it compares like with like from fold 0 on, and pruning
there saves most of a bad trial's cost. The price is that parameters bad on the oldest fold but good
on later ones can be pruned; parameters that hold up across regimes are what we want anyway.

The folds' test rows are where the parameters are chosen, so scores on them are in-sample for the
search: report out-of-sample figures on other rows, or deflate them with ``TuningResult.values``
(the number and spread of the trials) as the deflated Sharpe ratio does.

Shared studies: with ``TuningConfig.storage`` (an SQLAlchemy URL) several processes or machines run
``tune_model`` on one study name; each runs ``trials`` trials of its own, and the result describes
the whole study (its best trial and every complete trial's value, whichever process ran them).
Optuna keeps its schema version in the ``alembic_version`` table, the same table the project's
migrations use: give the study storage a database (or schema) of its own.
"""

from __future__ import annotations

import math
import os
import socket
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from sklearn.metrics import log_loss

from trading_agent.models.base import samples
from trading_agent.models.catalog import MODEL_KEYS, make_model
from trading_agent.models.predictor import probability_up
from trading_agent.training.dataset import TrainingSet
from trading_agent.training.splits import Split

if TYPE_CHECKING:
    import optuna

__all__ = ["SEARCH_SPACES", "Score", "TuningConfig", "TuningObjective", "TuningResult", "tune_model"]

Score: TypeAlias = Callable[[np.ndarray, np.ndarray], float]
"""``score(test_rows, p_up)``: the objective on one fold's test rows (positions in the ``TrainingSet``)
given the model's probability of up; larger is better. Used by the sharpe and sortino objectives:
the caller runs the strategy backtest with costs. NaN means "no trade" and counts as 0."""

_STORAGE_ATTEMPTS = 5
# histogram bins of the boosters (defaults 255/256/254): coarser bins fit 3-4x faster and overfit noise less
_MAX_BINS = 64

SearchSpace: TypeAlias = Callable[["optuna.Trial"], dict[str, Any]]


class TuningObjective(StrEnum):
    """What a trial maximises: a strategy ratio from the caller's ``score``, or minus the log-loss."""

    SHARPE = "sharpe"
    SORTINO = "sortino"
    LOG_LOSS = "log_loss"


@dataclass(frozen=True, slots=True)
class TuningConfig:
    """How to search; ``trials`` per model and per process.

    ``storage`` is ``None`` for an in-memory study, or an SQLAlchemy URL (e.g.
    ``postgresql+psycopg://...``, a database of its own: see the module docstring) that shares the
    study between processes; ``study_name`` is then required (the caller derives one, e.g.
    ``"BTCUSDT-1h-lgbm"``). In memory, the same ``seed`` gives the same trials; with a storage each
    process seeds its sampler from ``seed``, its host and its pid, so workers do not propose the same
    random start (a shared study depends on timing and is not reproducible anyway). ``timeout_s``
    stops this process's share early (Optuna finishes the running trial first).
    """

    trials: int = 20
    objective: TuningObjective = TuningObjective.SHARPE
    storage: str | None = None
    study_name: str | None = None
    seed: int = 0
    n_startup_trials: int = 5
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if not _is_int(self.trials) or self.trials < 1:
            raise ValueError(f"trials must be an integer >= 1, got {self.trials!r}")
        try:
            object.__setattr__(self, "objective", TuningObjective(self.objective))
        except ValueError:
            known = ", ".join(o.value for o in TuningObjective)
            raise ValueError(f"unknown objective {self.objective!r}; known: {known}") from None
        if self.storage is not None and (not isinstance(self.storage, str) or not self.storage.strip()):
            raise ValueError(f"storage must be None or a non-empty SQLAlchemy URL, got {self.storage!r}")
        if self.study_name is not None and (not isinstance(self.study_name, str) or not self.study_name.strip()):
            raise ValueError(f"study_name must be None or a non-empty string, got {self.study_name!r}")
        if self.storage is not None and self.study_name is None:
            raise ValueError("study_name is required with a storage: every worker must name the same study")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not _is_int(self.n_startup_trials) or self.n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be an integer >= 0, got {self.n_startup_trials!r}")
        timeout_is_number = isinstance(self.timeout_s, int | float) and not isinstance(self.timeout_s, bool)
        if self.timeout_s is not None and not (timeout_is_number and self.timeout_s > 0):
            raise ValueError(f"timeout_s must be None or a positive number of seconds, got {self.timeout_s!r}")


@dataclass(frozen=True, slots=True)
class TuningResult:
    """The study's outcome for one model.

    ``best_params`` are the keyword arguments that rebuild the best trial's model
    (``models.catalog.make_model(model, **best_params)``): the drawn parameters plus ``fixed_params``; the
    model's defaults fill the rest. Counts cover every finished trial of the study (all processes
    with a shared storage): ``n_trials = n_complete + n_pruned + failed``. ``values`` holds every
    complete trial's value, in trial order, for the deflated Sharpe ratio (pruned trials have none).
    """

    model: str
    best_params: dict[str, Any]
    best_value: float
    n_trials: int
    n_complete: int
    n_pruned: int
    values: tuple[float, ...]


def _boosting_space(trial: optuna.Trial, tree: dict[str, Any]) -> dict[str, Any]:
    """LightGBM's and XGBoost's shared scikit-learn parameters around their own tree-size ones."""
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 300, step=50),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
        "max_bin": _MAX_BINS,
        **tree,
        "subsample": trial.suggest_float("subsample", 0.5, 0.9),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.2, 0.8),
        "reg_lambda": trial.suggest_float("reg_lambda", 0.1, 30.0, log=True),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
    }


def _lgbm_space(trial: optuna.Trial) -> dict[str, Any]:
    leaves = trial.suggest_int("num_leaves", 4, 16)  # leaf-wise trees: the leaf count is their size
    min_child_samples = trial.suggest_int("min_child_samples", 20, 200, log=True)
    return _boosting_space(trial, {"num_leaves": leaves, "min_child_samples": min_child_samples})


def _xgb_space(trial: optuna.Trial) -> dict[str, Any]:
    depth = trial.suggest_int("max_depth", 2, 4)
    # a hessian sum: with uniqueness weights (~0.05-1) and p(1-p) <= 0.25 it is a few rows to hundreds
    min_child_weight = trial.suggest_float("min_child_weight", 0.5, 10.0, log=True)
    return _boosting_space(trial, {"max_depth": depth, "min_child_weight": min_child_weight})


def _catboost_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "iterations": trial.suggest_int("iterations", 100, 300, step=50),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
        "depth": trial.suggest_int("depth", 3, 5),
        "border_count": _MAX_BINS,
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1.0, 30.0, log=True),
        "random_strength": trial.suggest_float("random_strength", 0.5, 5.0, log=True),
        "bagging_temperature": trial.suggest_float("bagging_temperature", 0.0, 1.0),
        "rsm": trial.suggest_float("rsm", 0.2, 0.8),
    }


def _rf_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 300, step=50),
        "max_depth": trial.suggest_int("max_depth", 3, 8),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 20, 200, log=True),
        "max_features": trial.suggest_float("max_features", 0.05, 0.3),
        # overlapping labels: a small bootstrap sample is closer to the sequential bootstrap (López de Prado 4.5)
        "max_samples": trial.suggest_float("max_samples", 0.2, 0.8),
    }


def _sequence_space(trial: optuna.Trial) -> dict[str, Any]:
    """The shared training parameters of the four sequence networks: small, regularised, few epochs."""
    return {
        "window": trial.suggest_categorical("window", [16, 32, 48]),
        "hidden": trial.suggest_categorical("hidden", [16, 32, 64]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.3),
        "lr": trial.suggest_float("lr", 3e-4, 3e-3, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-2, log=True),
        "epochs": 20,
    }


def _recurrent_space(trial: optuna.Trial) -> dict[str, Any]:
    return {**_sequence_space(trial), "layers": trial.suggest_int("layers", 1, 2)}


def _tcn_space(trial: optuna.Trial) -> dict[str, Any]:
    return {**_sequence_space(trial), "layers": trial.suggest_int("layers", 3, 5)}  # blocks: 15 to 63 steps seen


SEARCH_SPACES: dict[str, SearchSpace] = {
    "lgbm": _lgbm_space,
    "xgb": _xgb_space,
    "catboost": _catboost_space,
    "rf": _rf_space,
    "lstm": _recurrent_space,
    "transformer": _recurrent_space,
    "tcn": _tcn_space,
    "gru": _recurrent_space,
}
"""Per model key (``models.catalog.MODEL_KEYS``), the parameters a trial draws. Trees: shallow trees,
strong regularisation, small learning rates and feature subsampling (what the literature on boosted
trees for financial returns favours), 100-300 trees and 64 histogram bins (not tuned: a fixed part
of every trial, so of ``best_params`` too) so that 4 models x 20 trials x 3 folds of ~4k rows fit in
a few minutes on 2 cores; threads and verbosity stay at the model defaults (2 threads, silent).
Sequence models: window 16-48 rows, 16-64 hidden units, dropout, learning rate and weight decay,
20 epochs with early stopping; each trial trains a network per fold, so they cost far more than the
trees (minutes per trial on a CPU): give them fewer trials."""


def tune_model(
    key: str,
    data: TrainingSet,
    folds: Sequence[Split],
    config: TuningConfig,
    *,
    score: Score | None = None,
    fixed_params: Mapping[str, Any] | None = None,
    on_trial: Callable[[int, int], None] | None = None,
) -> TuningResult:
    """Search ``key``'s hyperparameters over ``folds`` (see the module docstring for the protocol).

    ``score`` is required for the sharpe and sortino objectives. ``fixed_params`` override drawn
    parameters in every trial (e.g. ``n_estimators=20`` for a quick run; JSON values with a shared
    storage). ``on_trial(done, total)`` is called after each of this process's trials, pruned ones
    too. Optuna's INFO logs are silenced while the search runs and its verbosity restored afterwards.
    Raises ``ValueError`` for an unknown key, no folds, a missing ``score``, a fold that cannot be
    fitted or scored, or a stored study made for another model or objective.
    """
    if key not in SEARCH_SPACES or key not in MODEL_KEYS:
        raise ValueError(f"unknown model {key!r}; known: {', '.join(sorted(SEARCH_SPACES))}")
    if config.objective is not TuningObjective.LOG_LOSS and score is None:
        raise ValueError(f"the {config.objective} objective needs a score function (the strategy backtest)")
    fixed = dict(fixed_params or {})
    if not all(isinstance(name, str) for name in fixed):
        raise ValueError(f"fixed_params must map parameter names to values, got keys {list(fixed)!r}")
    prepared = _prepare_folds(data, folds)

    import optuna  # here, not at the top: importing Optuna costs a third of a second that predicting never needs

    def objective(trial: optuna.Trial) -> float:
        params = {**SEARCH_SPACES[key](trial), **fixed}
        trial.set_user_attr("params", params)
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("host", socket.gethostname())
        fold_values: list[float] = []
        for step, (all_train, all_test) in enumerate(prepared):
            model = make_model(key, **params)  # a sequence model reads the window ending at each row
            kind, window = model.input_kind, model.window
            train, test = all_train[all_train >= window - 1], all_test[all_test >= window - 1]
            model.fit(samples(data.X, train, kind, window), data.y[train], data.weight[train])
            p_up = probability_up(model, samples(data.X, test, kind, window))
            fold_values.append(_fold_value(config.objective, data, test, p_up, score))
            trial.report(float(np.mean(fold_values)), step)
            if trial.should_prune():
                trial.set_user_attr("fold_values", fold_values)
                raise optuna.TrialPruned(f"mean {np.mean(fold_values):.4g} after fold {step} is below the median")
        trial.set_user_attr("fold_values", fold_values)
        return float(np.mean(fold_values))

    done = 0

    def progress(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        nonlocal done
        done += 1
        if on_trial is not None:
            on_trial(done, config.trials)

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = _open_study(key, config)
        study.optimize(objective, n_trials=config.trials, timeout=config.timeout_s, callbacks=[progress])
        trials = study.get_trials(deepcopy=False)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return _result(key, study, trials)


def _prepare_folds(data: TrainingSet, folds: Sequence[Split]) -> list[tuple[np.ndarray, np.ndarray]]:
    if len(folds) == 0:
        raise ValueError("no folds to tune on: pass the purged walk-forward splits")
    n = len(data)
    prepared = []
    for fold in folds:
        train = np.asarray(fold.train, dtype=np.int64)
        test = np.asarray(fold.test, dtype=np.int64)
        if np.any((train < 0) | (train >= n)) or np.any((test < 0) | (test >= n)):
            raise ValueError(f"fold {fold.index} indexes rows outside the {n}-row training set")
        test = test[data.label_end_ms[test] >= 0]  # the splits keep unknown labels in test; they cannot be scored
        if len(np.unique(data.y[train])) < 2:
            raise ValueError(f"fold {fold.index} has {len(train)} training rows, not both classes: it cannot be fitted")
        if len(test) == 0:
            raise ValueError(f"fold {fold.index} has no test row with a known label: it cannot be scored")
        prepared.append((train, test))
    return prepared


def _fold_value(
    objective: TuningObjective, data: TrainingSet, test: np.ndarray, p_up: np.ndarray, score: Score | None
) -> float:
    if objective is TuningObjective.LOG_LOSS:
        return -float(log_loss(data.y[test], p_up, sample_weight=data.weight[test], labels=[0, 1]))
    if score is None:  # checked in tune_model; narrows the type
        raise ValueError(f"the {objective} objective needs a score function")
    value = float(score(test, p_up))
    if math.isnan(value):
        return 0.0
    if math.isinf(value):
        raise ValueError(f"score returned {value} on {len(test)} test rows; it must be finite or NaN (no trade)")
    return value


def _sampler_seed(config: TuningConfig) -> int:
    if config.storage is None:
        return config.seed
    worker = np.random.SeedSequence([config.seed, os.getpid(), zlib.crc32(socket.gethostname().encode())])
    return int(worker.generate_state(1)[0])


def _open_study(key: str, config: TuningConfig) -> optuna.Study:
    import optuna

    sampler = optuna.samplers.TPESampler(seed=_sampler_seed(config), n_startup_trials=config.n_startup_trials)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=config.n_startup_trials, n_warmup_steps=0)
    storage = _rdb_storage(config.storage) if config.storage is not None else None
    study = optuna.create_study(
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        study_name=config.study_name,
        direction="maximize",
        load_if_exists=True,
    )
    expected = {"model": key, "objective": str(config.objective)}
    for name, value in expected.items():
        stored = study.user_attrs.get(name)
        if stored is None:
            study.set_user_attr(name, value)  # concurrent workers write the same value; Optuna tolerates the race
        elif stored != value:
            raise ValueError(
                f"study {config.study_name!r} was made for {name} {stored!r}, not {value!r}: derive another study name"
            )
    return study


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    import optuna

    for attempt in range(1, _STORAGE_ATTEMPTS + 1):
        try:
            return optuna.storages.RDBStorage(url)
        except RuntimeError as exc:  # Optuna read a revision in alembic_version that is not one of its own
            raise ValueError(
                f"the study storage holds another schema ({exc}); Optuna keeps its schema version in the "
                "alembic_version table, which the trading agent's own migrations use too: give the studies "
                "a database (or schema) of their own"
            ) from exc
        except Exception as exc:  # workers starting together on a fresh database race to create Optuna's tables
            if attempt == _STORAGE_ATTEMPTS or not type(exc).__module__.startswith("sqlalchemy"):
                raise
            time.sleep(0.1 * attempt)  # the winner's tables are there on the next attempt (created only if absent)
    raise AssertionError("unreachable")  # pragma: no cover


def _result(key: str, study: optuna.Study, trials: Sequence[optuna.trial.FrozenTrial]) -> TuningResult:
    from optuna.trial import TrialState

    values = [t.value for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    n_pruned = sum(t.state == TrialState.PRUNED for t in trials)
    n_failed = sum(t.state == TrialState.FAIL for t in trials)
    if not values:
        raise ValueError(
            f"no trial of the {key} study completed ({n_pruned} pruned, {n_failed} failed): raise trials or timeout_s"
        )
    best = study.best_trial
    return TuningResult(
        model=key,
        best_params=dict(best.user_attrs.get("params", best.params)),
        best_value=float(best.value if best.value is not None else max(values)),
        n_trials=len(values) + n_pruned + n_failed,
        n_complete=len(values),
        n_pruned=n_pruned,
        values=tuple(float(v) for v in values),
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
